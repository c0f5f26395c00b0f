import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allFinished, finishedById, RELAY, type RelaySite, relaySite } from '../helpers/relay-site.js';
import { waitFor } from '../helpers/wait.js';

/**
 * rmm relay as a separate process against a real nats-server (JetStream, the design's
 * authorization) and a real sshd: work messages published as the console publishes them, reports
 * read from RMM_RESULTS, and what ran read from the file each command appends its ActionId to.
 */
describe('rmm relay: a batch through NATS to the sshd', () => {
  let site: RelaySite;
  beforeAll(async () => {
    site = await relaySite();
  });
  afterAll(async () => {
    await site?.remove();
  });

  it('started after the work was queued, runs each action once, one at a time per device, and reports started then finished', async () => {
    // Each command marks its start and end in its device's file: one at a time per device.
    const order = (device: string) => path.join(site.ssh.cwd, `order-${device}`);
    const messages = Array.from({ length: 12 }, (_, i) => {
      const device = `dev-${i % 3}`;
      const mark = order(device);
      return site.work(
        device,
        `echo s >> ${mark}; echo out-${i}; echo err-${i} >&2; sleep 0.1; echo e >> ${mark}`,
      );
    });
    for (const m of messages) await site.console.submit(RELAY, m);
    const relay = site.startRelay();
    const ids = messages.map((m) => String(m.actionId));
    const reports = await site.collect(allFinished(ids));
    const finished = finishedById(reports);
    for (const [i, id] of ids.entries()) {
      expect(finished.get(id)).toMatchObject({
        v: 1,
        status: 'Succeeded',
        exitCode: 0,
        stdout: `out-${i}\n`,
        stderr: `err-${i}\n`,
      });
      const kinds = reports.filter((r) => r.body.actionId === id).map((r) => r.body.kind);
      expect(kinds).toEqual(['started', 'finished']);
      // Keyed by the relay's password (reports.ts reportMsgIds): no other relay can take its id.
      expect(reports.find((r) => r.body.actionId === id && r.body.kind === 'started')?.msgId).toMatch(
        new RegExp(`^${id}\\.started\\.[A-Za-z0-9_-]{22}$`),
      );
    }
    expect((await site.ran()).sort()).toEqual([...ids].sort());
    for (const device of ['dev-0', 'dev-1', 'dev-2'])
      expect(await readFile(order(device), 'utf8')).toBe('s\ne\n'.repeat(4));
    expect(await site.console.pendingWork(RELAY)).toBe(0);
    relay.kill('SIGTERM');
    const result = await relay;
    expect(result.exitCode, result.stderr).toBe(0);
  }, 60_000);

  it('runs more than 10 actions at once without a MaxListenersExceededWarning (one listener on its stop signal)', async () => {
    // 12 devices, each action sleeping: all 12 run at the same time.
    const messages = Array.from({ length: 12 }, (_, i) => site.work(`wide-${i}`, 'sleep 0.5'));
    for (const m of messages) await site.console.submit(RELAY, m);
    const relay = site.startRelay();
    await site.collect(allFinished(messages.map((m) => String(m.actionId))));
    relay.kill('SIGTERM');
    const result = await relay;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('"action started"');
    expect(result.stderr).not.toContain('MaxListenersExceededWarning');
  }, 60_000);
});

describe('rmm relay: what it refuses to run', () => {
  let site: RelaySite;
  beforeAll(async () => {
    site = await relaySite();
  });
  afterAll(async () => {
    await site?.remove();
  });

  it('reports an action past its expiresAt as Expired and never runs it', async () => {
    const expired = site.work('dev-0', 'true', { expiresAt: new Date(Date.now() - 1000).toISOString() });
    const id = String(expired.actionId);
    await site.console.submit(RELAY, expired);
    const relay = site.startRelay();
    const reports = await site.collect(allFinished([id]));
    expect(finishedById(reports).get(id)).toMatchObject({ status: 'Expired' });
    expect(String(finishedById(reports).get(id)?.error)).toMatch(/^not started: it expired at /);
    expect(reports.filter((r) => r.body.actionId === id).map((r) => r.body.kind)).toEqual(['finished']);
    expect(await site.ran()).not.toContain(id);
    relay.kill('SIGTERM');
    expect((await relay).exitCode).toBe(0);
  }, 60_000);

  it('terms unreadable or unsafe work messages with a log line, tells the console when it can, runs none', async () => {
    const secret = 'hunter2-inline-secret';
    const transport = (extra: Record<string, unknown>) => {
      const m = site.work('dev-1');
      (m.device as { transport: Record<string, unknown> }).transport = {
        ...(m.device as { transport: Record<string, unknown> }).transport,
        ...extra,
      };
      return m;
    };
    const withId: Record<string, Record<string, unknown>> = {
      wrongVersion: { ...site.work('dev-1'), v: 2 },
      missingCommand: (({ command: _c, ...rest }) => rest)(site.work('dev-1')),
      hugeCommand: site.work('dev-1', 'true', { command: 'x'.repeat(200_001) }),
      unknownField: { ...site.work('dev-1'), extra: true },
      inlinePassword: transport({ password: secret }),
      secretAsReference: transport({ credentialRef: secret }),
      refusedEnv: transport({ credentialRef: 'env:HOME' }),
      refusedFile: transport({ credentialRef: 'file:/etc/shadow' }),
    };
    await site.console.submitRaw(RELAY, 'not json', 'bad-1');
    await site.console.submitRaw(RELAY, JSON.stringify({ v: 1, hello: 'world' }), 'bad-2');
    for (const m of Object.values(withId)) await site.console.submit(RELAY, m);
    const good = site.work('dev-1');
    await site.console.submit(RELAY, good);
    const ids = [...Object.values(withId).map((m) => String(m.actionId)), String(good.actionId)];
    const relay = site.startRelay();
    const reports = await site.collect(allFinished(ids));
    const finished = finishedById(reports);
    expect(finished.get(String(good.actionId))?.status).toBe('Succeeded');
    for (const [what, m] of Object.entries(withId)) {
      const report = finished.get(String(m.actionId));
      expect(report?.status, what).toBe('Failed');
      expect(String(report?.error), what).toMatch(/^the relay refused this action: /);
    }
    expect(String(finished.get(String(withId.inlinePassword?.actionId))?.error)).toContain(
      'device.transport.password would carry a secret',
    );
    expect(await site.ran()).toEqual([String(good.actionId)]);
    await waitFor(
      'the work stream empty',
      async () => (await site.console.pendingWork(RELAY)) === 0 || undefined,
    );
    relay.kill('SIGTERM');
    const result = await relay;
    expect(result.exitCode).toBe(0);
    expect(result.stderr.match(/refused a work message/g)).toHaveLength(10);
    expect(result.stderr).not.toContain(secret);
    expect(JSON.stringify(reports)).not.toContain(secret);
  }, 60_000);
});

describe('rmm relay: SIGTERM', () => {
  let site: RelaySite | undefined;
  afterEach(async () => {
    await site?.remove();
    site = undefined;
  });

  it('lets the running action finish, hands the waiting one back unrun, and exits 0', async () => {
    site = await relaySite();
    const running = site.work('dev-0', 'sleep 1');
    const waiting = site.work('dev-0');
    await site.console.submit(RELAY, running);
    await site.console.submit(RELAY, waiting);
    const relay = site.startRelay(['--drain-timeout', '20s']);
    await waitFor('the first action running', async () => (await site?.ran())?.length === 1 || undefined);
    relay.kill('SIGTERM');
    const result = await relay;
    expect(result.exitCode, result.stderr).toBe(0);
    const reports = await site.collect(allFinished([String(running.actionId)]));
    expect(finishedById(reports).get(String(running.actionId))?.status).toBe('Succeeded');
    expect(finishedById(reports).has(String(waiting.actionId))).toBe(false);
    expect(await site.ran()).toEqual([String(running.actionId)]);
    // Back in the queue for the next start.
    expect(await site.console.pendingWork(RELAY)).toBe(1);
  }, 60_000);

  it('past --drain-timeout stops what runs (Cancelled) and still exits 0', async () => {
    site = await relaySite();
    const long = site.work('dev-0', 'sleep 30');
    await site.console.submit(RELAY, long);
    const relay = site.startRelay(['--drain-timeout', '1s']);
    await waitFor('the action running', async () => (await site?.ran())?.length === 1 || undefined);
    const stoppedAt = Date.now();
    relay.kill('SIGTERM');
    const result = await relay;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    const reports = await site.collect(allFinished([String(long.actionId)]));
    expect(finishedById(reports).get(String(long.actionId))?.status).toBe('Cancelled');
    expect(await site.console.pendingWork(RELAY)).toBe(0);
  }, 60_000);
});
