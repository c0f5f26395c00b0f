import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/child-server.js';
import { repoRoot, runCli, spawnCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';
import { waitFor } from '../helpers/wait.js';

/**
 * rmm exec against a real OpenSSH server on a loopback port: devices declared in YAML and applied,
 * actions queued in the Actions table, run through the SSH plugin, audited.
 */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const query = <T>(sql: string, ...params: unknown[]): T[] =>
  queryFile<T>(path.join(cwd, 'data', 'devices.db'), sql, ...params);

const device = (name: string, labels: string, transport: string) => `apiVersion: rmm/v1
kind: Device
metadata: {name: ${name}, labels: {${labels}}}
spec:
  site: main
  address: 127.0.0.1
  os: linux
  transport: {${transport}}
`;

beforeAll(async () => {
  let ssh: string;
  ({ sshd, cwd, env, transport: ssh } = await sshWorkspace('rmm-exec-', 'exec-test'));
  await applyDevices(
    { cwd, env },
    [
      device('web-a', 'role: web', ssh),
      device('web-b', 'role: web', ssh),
      device('db-a', 'role: db', ssh),
      device(
        'gone-a',
        'role: gone',
        `type: ssh, port: ${await freePort()}, user: ${sshd.user}, credentialRef: "file:${sshd.clientKeyPath}"`,
      ),
      device(
        'nokey-a',
        'role: nokey',
        `type: ssh, port: ${sshd.port}, user: ${sshd.user}, credentialRef: "env:RMM_TEST_UNSET_KEY"`,
      ),
    ].join('---\n'),
  );
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm exec', () => {
  it('runs on the selected devices, keeps each result in Actions, and audits each', async () => {
    const result = await rmm(
      'exec',
      '--target',
      'label.role=web',
      '--',
      'echo "hello from $(hostname)"; echo oops >&2',
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('--- web-a: Succeeded (exit 0,');
    expect(result.stdout).toContain(`hello from ${os.hostname()}`);
    expect(result.stdout).toContain(
      'Exec complete: 2 succeeded, 0 failed, 0 timedout, 0 unreachable, 0 expired, 0 cancelled.',
    );
    const rows = query<{
      DeviceId: string;
      Status: string;
      Result: string;
      CreatedBy: string;
      StartedAt: string | null;
    }>(
      "SELECT DeviceId, Status, Result, CreatedBy, StartedAt FROM Actions WHERE ActionType = 'exec' ORDER BY DeviceId",
    );
    expect(rows.map((r) => [r.DeviceId, r.Status, r.CreatedBy])).toEqual([
      ['web-a', 'Succeeded', 'exec-test'],
      ['web-b', 'Succeeded', 'exec-test'],
    ]);
    expect(JSON.parse(rows[0]?.Result ?? '{}')).toMatchObject({ exitCode: 0, stderr: 'oops\n' });
    expect(rows.every((r) => r.StartedAt !== null)).toBe(true);
    expect(
      query("SELECT Target, Success FROM AuditLog WHERE Action LIKE 'action.exec %' ORDER BY Target"),
    ).toEqual([
      { Target: 'Device/web-a', Success: 1 },
      { Target: 'Device/web-b', Success: 1 },
    ]);
  });

  it('tells failed, unreachable, timed-out and credential problems apart; exit 1; nothing left Running', async () => {
    const failed = await rmm('exec', '-t', 'name=db-a', '--', 'exit 3');
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toContain('--- db-a: Failed (exit 3,');

    const unreachable = await rmm('exec', '-t', 'name=gone-a', '--connect-timeout', '2', '--', 'true');
    expect(unreachable.exitCode).toBe(1);
    expect(unreachable.stdout).toContain('--- gone-a: Unreachable (');

    const slow = await rmm('exec', '-t', 'name=db-a', '--timeout', '1', '--', 'sleep 30');
    expect(slow.exitCode).toBe(1);
    expect(slow.stdout).toContain('--- db-a: TimedOut (');

    const nokey = await rmm('exec', '-t', 'name=nokey-a', '--', 'true');
    expect(nokey.exitCode).toBe(1);
    expect(nokey.stdout).toContain(
      'credential env:RMM_TEST_UNSET_KEY: the environment variable RMM_TEST_UNSET_KEY is not set',
    );

    expect(query("SELECT count(*) AS n FROM Actions WHERE Status IN ('Pending', 'Running')")).toEqual([
      { n: 0 },
    ]);
  }, 60_000);

  it('on a terminal draws one live line of counts on stderr and erases it before the summary', async () => {
    // util-linux script(1) gives the CLI a real pseudo-terminal, as an admin's shell would.
    const bin = path.join(repoRoot, 'bin', 'run.js');
    const command = `node ${bin} exec -t label.role=web -- 'sleep 0.3; echo done'`;
    const result = await execa('script', ['-qec', command, '/dev/null'], {
      cwd,
      env: { ...process.env, ...env, NO_COLOR: '1', RMM_DATA_DIR: undefined, NODE_ENV: undefined },
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    expect(result.exitCode).toBe(0);
    const screen = result.stdout;
    const erase = '\r\x1b[2K';
    // Drawn in place (carriage return, erase line) with the counts as they change.
    expect(screen).toContain(`${erase}[0/2] 0 pending, 2 running`);
    // A result erases the line first, so it starts at the left margin.
    expect(screen).toMatch(/\[2K--- web-[ab]: Succeeded/);
    expect(screen).not.toContain('Running on 2 devices...'); // the plain-lines start line is for non-terminals
    // The final counts stay on screen, on a line of their own, above the summary.
    expect(screen).toContain(
      `${erase}[2/2] 0 pending, 0 running, 2 succeeded\r\n\r\nExec complete: 2 succeeded, 0 failed`,
    );
  });

  it('--json writes one event per state change, then a summary', async () => {
    const result = await rmm('exec', '-t', 'name=web-*', '-t', 'name=db-a', '--json', '--', 'printf x');
    expect(result.exitCode).toBe(0);
    const events = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(
      events
        .filter((e) => e.status === 'Running')
        .map((e) => e.device)
        .sort(),
    ).toEqual(['db-a', 'web-a', 'web-b']);
    expect(
      events
        .filter((e) => e.status === 'Succeeded')
        .map((e) => [e.device, e.stdout])
        .sort(),
    ).toEqual([
      ['db-a', 'x'],
      ['web-a', 'x'],
      ['web-b', 'x'],
    ]);
    expect(events.at(-1)).toEqual({
      type: 'summary',
      Succeeded: 3,
      Failed: 0,
      TimedOut: 0,
      Unreachable: 0,
      Expired: 0,
      Cancelled: 0,
    });
  });

  it('refuses bad selectors and selections of nothing, clearly, queuing nothing', async () => {
    const before = query<{ n: number }>('SELECT count(*) AS n FROM Actions')[0]?.n;
    const bad = await rmm('exec', '-t', 'colour=blue', '--', 'true');
    expect(bad.exitCode).toBe(64);
    expect(bad.stderr).toContain('"colour=blue" is not a selector term');
    const none = await rmm('exec', '-t', 'site=nowhere', '--', 'true');
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain('no device matches --target site=nowhere');
    const noCommand = await rmm('exec', '-t', 'name=web-a');
    expect(noCommand.exitCode).toBe(64);
    expect(query<{ n: number }>('SELECT count(*) AS n FROM Actions')[0]?.n).toBe(before);
  });

  // Ctrl-C, a cancelled CI job (SIGTERM) and a closed terminal (SIGHUP) all mean nobody wants the
  // rest: an immediate exec owns its rows and must not leave them Pending for the queue's runner.
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    '%s stops the running action and cancels the rest: exit 130, nothing Pending or Running',
    async (signal) => {
      const before = query<{ n: number }>('SELECT max(rowid) AS n FROM Actions')[0]?.n ?? 0;
      const child = spawnCli(
        ['exec', '-t', 'label.role=web', '-t', 'name=db-a', '-c', '1', '--', 'sleep 30'],
        {
          cwd,
          env,
        },
      );
      try {
        const running = await waitFor('an action to be Running', () => {
          const rows = query<{ ActionId: string }>(
            "SELECT ActionId FROM Actions WHERE rowid > ? AND Status = 'Running'",
            before,
          );
          return rows.length > 0 ? rows.map((r) => r.ActionId) : undefined;
        });
        child.kill(signal);
        const result = await child;
        expect(result.exitCode, String(result.stderr)).toBe(130);
        const rows = query<{ ActionId: string; Status: string; Result: string }>(
          'SELECT ActionId, Status, Result FROM Actions WHERE rowid > ?',
          before,
        );
        expect(rows).toHaveLength(3);
        expect(rows.filter((r) => r.Status === 'Pending' || r.Status === 'Running')).toEqual([]);
        expect(rows.map((r) => r.Status)).toEqual(['Cancelled', 'Cancelled', 'Cancelled']);
        for (const id of running)
          expect(JSON.parse(rows.find((r) => r.ActionId === id)?.Result ?? '{}').error).toBe(
            `cancelled (${signal === 'SIGINT' ? 'Ctrl-C' : signal})`,
          );
        expect(query('SELECT * FROM ActionLeases')).toEqual([]);
        expect(result.stdout).toContain(
          'Exec complete: 0 succeeded, 0 failed, 0 timedout, 0 unreachable, 0 expired, 3 cancelled.',
        );
      } finally {
        child.kill('SIGKILL');
      }
    },
    60_000,
  );
});
