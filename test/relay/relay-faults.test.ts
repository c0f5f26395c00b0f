import { afterEach, describe, expect, it } from 'vitest';
import { allFinished, finishedById, RELAY, type RelaySite, relaySite } from '../helpers/relay-site.js';
import type { Report } from '../helpers/relay-streams.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Faults, each checked as "nothing lost, nothing run twice" against the sshd side's own record of
 * what ran. The work consumers' ack_wait is short here (the design's is 60 s) so that messages a
 * dead relay held come back within the test.
 */
const STOPPED = 'the relay stopped while this ran; it may or may not have completed';

function finishedCount(reports: readonly Report[], id: string): number {
  return reports.filter((r) => r.body.kind === 'finished' && r.body.actionId === id).length;
}

function expectEachRanOnce(ran: readonly string[]) {
  expect(ran.length).toBe(new Set(ran).size);
}

describe('rmm relay: faults', () => {
  let site: RelaySite | undefined;
  afterEach(async () => {
    await site?.remove();
    site = undefined;
  });

  it('kill -9 mid-batch: on restart the running ones end Failed (relay stopped), the rest run, none twice', async () => {
    site = await relaySite({ ackWaitMs: 3000 });
    const messages = Array.from({ length: 12 }, (_, i) => site?.work(`dev-${i % 3}`, 'sleep 1.5'));
    for (const m of messages) await site.console.submit(RELAY, m);
    const ids = messages.map((m) => String(m?.actionId));
    const first = site.startRelay();
    await waitFor('three actions running', async () => ((await site?.ran())?.length ?? 0) >= 3 || undefined);
    first.kill('SIGKILL');
    await first;
    const ranAtKill = await site.ran();
    const second = site.startRelay();
    const reports = await site.collect(allFinished(ids), 60_000);
    const finished = finishedById(reports);
    const ran = await site.ran();
    expectEachRanOnce(ran);
    for (const id of ids) expect(finishedCount(reports, id), id).toBe(1);
    const failed = ids.filter((id) => finished.get(id)?.status === 'Failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const id of failed) {
      expect(finished.get(id)?.error).toBe(STOPPED);
      expect(ranAtKill).toContain(id);
    }
    for (const id of ids.filter((i) => !failed.includes(i))) {
      expect(finished.get(id)?.status).toBe('Succeeded');
      expect(ran).toContain(id);
    }
    await waitFor(
      'the work stream empty',
      async () => (await site?.console.pendingWork(RELAY).catch(() => -1)) === 0 || undefined,
    );
    second.kill('SIGTERM');
    expect((await second).exitCode).toBe(0);
  }, 90_000);

  it('NATS killed and restarted with its store mid-batch: every result arrives once, nothing runs twice', async () => {
    site = await relaySite({ ackWaitMs: 3000 });
    const messages = Array.from({ length: 6 }, (_, i) => site?.work(`dev-${i % 2}`, 'sleep 0.5'));
    for (const m of messages) await site.console.submit(RELAY, m);
    const ids = messages.map((m) => String(m?.actionId));
    const relay = site.startRelay();
    await waitFor('two actions running', async () => ((await site?.ran())?.length ?? 0) >= 2 || undefined);
    await site.nats.kill();
    // The relay goes on with what it holds while NATS is away; its reports wait in the outbox.
    await waitFor('all six run', async () => ((await site?.ran())?.length ?? 0) >= 6 || undefined);
    await site.nats.start();
    const reports = await site.collect(allFinished(ids), 60_000);
    const finished = finishedById(reports);
    for (const id of ids) {
      expect(finished.get(id)?.status).toBe('Succeeded');
      expect(finishedCount(reports, id)).toBe(1);
    }
    const ran = await site.ran();
    expectEachRanOnce(ran);
    expect(ran.sort()).toEqual([...ids].sort());
    await waitFor(
      'the work stream empty',
      async () => (await site?.console.pendingWork(RELAY).catch(() => -1)) === 0 || undefined,
    );
    relay.kill('SIGTERM');
    const result = await relay;
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('disconnected from NATS');
    expect(result.stderr).toContain('reconnected to NATS');
  }, 90_000);

  it('the same action published twice, then again without a message id, and redelivered while it runs, runs once', async () => {
    site = await relaySite({ ackWaitMs: 1000 });
    const message = site.work('dev-0', 'sleep 2.5');
    const id = String(message.actionId);
    const seq = await site.console.submit(RELAY, message);
    // JetStream's duplicate window drops the repeat: same sequence.
    expect(await site.console.submit(RELAY, message)).toBe(seq);
    const relay = site.startRelay();
    // ack_wait (1 s) passes while it runs: JetStream delivers it again, and the relay keeps it.
    const reports = await site.collect(allFinished([id]), 30_000);
    expect(finishedById(reports).get(id)?.status).toBe('Succeeded');
    // A copy without a message id gets past the duplicate window: the relay's store knows it.
    await site.console.submitRaw(RELAY, JSON.stringify(message));
    await waitFor(
      'the work stream empty',
      async () => (await site?.console.pendingWork(RELAY).catch(() => -1)) === 0 || undefined,
    );
    const later = await site.console.reports(RELAY, { waitMs: 1500 });
    expect(finishedCount([...reports, ...later], id)).toBe(1);
    expect(await site.ran()).toEqual([id]);
    relay.kill('SIGTERM');
    expect((await relay).exitCode).toBe(0);
  }, 60_000);

  it('SIGTERM while NATS is away exits 0 promptly; the reports it could not send go at the next start', async () => {
    site = await relaySite();
    const message = site.work('dev-0', 'sleep 0.5');
    const id = String(message.actionId);
    await site.console.submit(RELAY, message);
    const relay = site.startRelay(['--drain-timeout', '10s']);
    await waitFor('the action running', async () => (await site?.ran())?.length === 1 || undefined);
    await site.nats.stop();
    const stoppedAt = Date.now();
    relay.kill('SIGTERM');
    const result = await relay;
    expect(result.exitCode, result.stderr).toBe(0);
    // Within execa's 5 s before it would SIGKILL (then exitCode would not be 0).
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    await site.nats.start();
    const again = site.startRelay();
    const reports = await site.collect(allFinished([id]), 60_000);
    expect(finishedById(reports).get(id)?.status).toBe('Succeeded');
    expect(finishedCount(reports, id)).toBe(1);
    expect(await site.ran()).toEqual([id]);
    again.kill('SIGTERM');
    expect((await again).exitCode).toBe(0);
  }, 90_000);
});
