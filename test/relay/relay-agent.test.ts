import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFinished, finishedById, RELAY, type RelaySite, relaySite } from '../helpers/relay-site.js';

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

  it('runs each action once, one at a time per device, and reports started then finished', async () => {
    const messages = Array.from({ length: 12 }, (_, i) =>
      site.work(`dev-${i % 3}`, `echo out-${i}; echo err-${i} >&2`),
    );
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
      expect(reports.find((r) => r.body.actionId === id && r.body.kind === 'started')?.msgId).toBe(
        `${id}.started`,
      );
    }
    expect((await site.ran()).sort()).toEqual([...ids].sort());
    expect(await site.console.pendingWork(RELAY)).toBe(0);
    relay.kill('SIGTERM');
    const result = await relay;
    expect(result.exitCode, result.stderr).toBe(0);
  }, 60_000);
});
