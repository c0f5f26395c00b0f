/**
 * The transport conformance kit: one vitest suite every transport plugin must pass against a real
 * peer. Commands are POSIX shell (a Linux target with awk, sh and pgrep). Use it from a test file:
 *
 *   describeTransportConformance('ssh', async () => ({ transport, target, connect, ... }));
 *
 * Imports vitest, so only test code loads it.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectOptions, DeviceTarget, Session, Transport, TransportError } from './api.js';

export { describeQueuedTransportConformance, type QueuedConformanceSetup } from './queued-conformance.js';

export interface ConformanceSetup {
  transport: Transport;
  /** A reachable device that `connect` logs in to. */
  target: DeviceTarget;
  connect: ConnectOptions;
  /** Nothing answers there (a closed port): connect must fail as `unreachable`. */
  unreachableTarget: DeviceTarget;
  /** Options the target refuses: connect must fail as `auth-failed`. */
  badCredentials: ConnectOptions;
  /** The target keeps POSIX file modes (putFile's mode); false for Windows targets. Default true. */
  posixFileModes?: boolean;
  teardown(): Promise<void>;
}

export function describeTransportConformance(name: string, setup: () => Promise<ConformanceSetup>): void {
  describe(`transport conformance: ${name}`, () => {
    let env: ConformanceSetup | undefined;
    let session: Session | undefined;
    const ready = () => {
      if (!env || !session) throw new Error('conformance setup failed (see beforeAll)');
      return { env, session };
    };
    const run = async (command: string, options?: Parameters<Session['exec']>[1]) => {
      const result = await ready().session.exec(command, options);
      return { ...result, out: result.stdout.toString('utf8'), err: result.stderr.toString('utf8') };
    };

    beforeAll(async () => {
      env = await setup();
      session = await env.transport.connect(env.target, env.connect);
    });
    afterAll(async () => {
      await session?.close().catch(() => {});
      await env?.teardown();
    });

    it('reports exit codes 0..255', async () => {
      expect((await run('true')).exitCode).toBe(0);
      expect((await run('false')).exitCode).toBe(1);
      for (const code of [2, 42, 100, 254, 255]) expect((await run(`exit ${code}`)).exitCode).toBe(code);
      expect((await run('rmm-conformance-no-such-command')).exitCode).toBe(127);
    });

    it('keeps stdout and stderr apart', async () => {
      const result = await run("printf 'to out'; printf 'to err' >&2; printf ' again'");
      expect(result.out).toBe('to out again');
      expect(result.err).toBe('to err');
    });

    it('carries several MB on each stream at once, byte-exact', async () => {
      const lines = 500_000; // about 5 MB per stream
      const awk = (prefix: string) => `awk 'BEGIN { for (i = 0; i < ${lines}; i++) print "${prefix}", i }'`;
      const result = await run(`${awk('out')} & ${awk('err')} >&2; wait`);
      const expected = (prefix: string) => {
        const parts: string[] = [];
        for (let i = 0; i < lines; i++) parts.push(`${prefix} ${i}\n`);
        return Buffer.from(parts.join(''));
      };
      expect(result.exitCode).toBe(0);
      expect(result.stdout.length).toBe(expected('out').length);
      expect(sha256(result.stdout)).toBe(sha256(expected('out')));
      expect(result.stderr.length).toBe(expected('err').length);
      expect(sha256(result.stderr)).toBe(sha256(expected('err')));
    });

    it('passes unicode both ways', async () => {
      const text = 'héllo wörld ✓ 日本語 🚀';
      expect((await run(`printf '%s' '${text}'`)).out).toBe(text);
      // Produced on the device from octal escapes, so the bytes did not come from the command line.
      expect((await run(String.raw`printf '\342\234\223 \360\237\232\200'`)).out).toBe('✓ 🚀');
    });

    it('pipes several MB of stdin, byte-exact', async () => {
      const input = randomBytes(3 * 1024 * 1024);
      const result = await ready().session.exec('cat', { stdin: input });
      expect(result.exitCode).toBe(0);
      expect(result.stdout.length).toBe(input.length);
      expect(sha256(result.stdout)).toBe(sha256(input));
      const text = 'stdin ✓ 日本語\n';
      expect((await run('cat', { stdin: text })).out).toBe(text);
    });

    it('stops a command past its timeout, remote process included', async () => {
      const marker = `rmm-conformance-${randomUUID()}`;
      // The outer shell forks the inner one, so killing only the session's first process would
      // leave the marked `sh` (and its sleep) running: the check below would see it.
      const started = Date.now();
      const error = await run(`sh -c 'sleep 30; exit 0' ${marker}; exit 0`, { timeoutMs: 500 }).then(
        () => undefined,
        (e: unknown) => e as TransportError,
      );
      expect(error?.code).toBe('timed-out');
      expect(error?.retryable).toBe(false);
      expect(Date.now() - started).toBeLessThan(10_000);
      // `[r]mm-...` matches the marker but not the pgrep command line that contains the pattern.
      const pattern = `[${marker.slice(0, 1)}]${marker.slice(1)}`;
      let left = -1;
      for (let i = 0; i < 50; i++) {
        left = (await run(`pgrep -f '${pattern}'`)).exitCode;
        if (left === 1) break;
        await sleep(100);
      }
      expect(left, 'pgrep still finds the timed-out command (exit 1 means gone)').toBe(1);
      expect((await run('echo still usable')).out).toBe('still usable\n');
    });

    it('runs several commands at once and one after another on one session', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => run(`sleep 0.2; echo ${i}; echo e${i} >&2`)),
      );
      results.forEach((result, i) => {
        expect(result.exitCode).toBe(0);
        expect(result.out).toBe(`${i}\n`);
        expect(result.err).toBe(`e${i}\n`);
      });
      for (let i = 0; i < 10; i++) expect((await run(`echo ${i}`)).out).toBe(`${i}\n`);
    });

    it('transfers a file both ways', async (context) => {
      const { env, session } = ready();
      if (!env.transport.capabilities.fileTransfer) context.skip();
      const dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-conformance-'));
      const remote = `/tmp/rmm-conformance-${randomUUID()}.bin`;
      try {
        const data = randomBytes(2 * 1024 * 1024);
        await writeFile(path.join(dir, 'sent'), data);
        await session.putFile(path.join(dir, 'sent'), remote, { mode: 0o600 });
        await session.fetchFile(remote, path.join(dir, 'fetched'));
        expect(sha256(await readFile(path.join(dir, 'fetched')))).toBe(sha256(data));
        if (env.posixFileModes !== false) expect((await run(`stat -c %a ${remote}`)).out.trim()).toBe('600');
      } finally {
        await run(`rm -f ${remote}`).catch(() => {});
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('fails as unreachable (retryable) when nothing answers', async () => {
      const { env } = ready();
      const error = await env.transport.connect(env.unreachableTarget, env.connect).then(
        async (s) => {
          await s.close();
          return undefined;
        },
        (e: unknown) => e as TransportError,
      );
      expect(error?.code).toBe('unreachable');
      expect(error?.retryable).toBe(true);
    });

    it('fails as auth-failed on bad credentials', async () => {
      const { env } = ready();
      const error = await env.transport.connect(env.target, env.badCredentials).then(
        async (s) => {
          await s.close();
          return undefined;
        },
        (e: unknown) => e as TransportError,
      );
      expect(error?.code).toBe('auth-failed');
      expect(error?.retryable).toBe(false);
    });

    it('closes a session', async () => {
      const { env } = ready();
      const other = await env.transport.connect(env.target, env.connect);
      expect((await other.exec('echo open')).stdout.toString()).toBe('open\n');
      await other.close();
      await expect(other.exec('true')).rejects.toThrow();
      await other.close(); // A second close is harmless.
    });

    it("if it offers checkOptions, finds no error in the target's options and answers in shape", () => {
      const { env } = ready();
      const check = env.transport.checkOptions;
      if (check === undefined) return;
      expect(typeof check).toBe('function');
      const findings = check.call(env.transport, { ...env.target.options });
      expect(Array.isArray(findings)).toBe(true);
      for (const finding of findings) {
        expect(Array.isArray(finding.path)).toBe(true);
        expect(typeof finding.message).toBe('string');
        expect(['error', 'warning']).toContain(finding.severity);
      }
      // The options connect just used cannot be ones validate refuses.
      expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
    });
  });
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
