import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueuedAction, SubmitOutcome } from '../../../src/plugin/api.js';
import { type NatsServer, startNatsServer } from '../../helpers/nats-server.js';
import { waitFor } from '../../helpers/wait.js';
import { FarSide, fetchReports, openQueue, route } from './far-side.js';

/**
 * NATS stopped (kill -9) and started again with its store while a route is open: what was accepted
 * stays queued, a submit without an answer says it may be queued (never "refused"), the route
 * carries on after the restart, and a resubmit is still queued once.
 */
let nats: NatsServer;
beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats?.remove();
});

const action = (): QueuedAction => ({
  actionId: randomUUID(),
  type: 'exec',
  device: { name: 'web-01', host: '10.0.0.5', os: 'linux', transport: { type: 'ssh' } },
  command: 'true',
  timeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  expiresAt: '2026-12-04T02:00:00.000Z',
});

describe('relay queue through a NATS restart', () => {
  it('loses nothing accepted, refuses nothing it cannot know about, and dedupes across the restart', async () => {
    const queue = await openQueue(route('relay-outage', [nats.url]));
    try {
      const before = action();
      const [accepted] = await queue.submit([before]);
      expect(accepted?.accepted).toBe(true);

      await nats.kill();
      const during = action();
      await expect(queue.submit([during])).rejects.toMatchObject({
        name: 'TransportError',
        code: 'unreachable',
        message: expect.stringContaining('it may be queued, and submitting it again queues it once'),
      });
      await expect(queue.fetch({ max: 10, waitMs: 1000 })).rejects.toMatchObject({ name: 'TransportError' });

      await nats.start();
      // The pooled connection reconnects by itself; the core submits the uncertain one again.
      const resubmitted = await waitFor(
        'the route to work again after the restart',
        async () => {
          try {
            return await queue.submit([during, before]);
          } catch {
            return undefined;
          }
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(resubmitted.map((o: SubmitOutcome) => o.accepted)).toEqual([true, true]);
      // `before` was on disk before the kill: the same message, not a second one.
      expect(resubmitted[1]).toEqual(accepted);

      const far = await FarSide.connect(nats.url, 'relay-outage');
      try {
        const work = await far.pull(10);
        expect(work.map((m) => m.headers?.get('Nats-Msg-Id')).sort()).toEqual(
          [before.actionId, during.actionId].sort(),
        );
        for (const m of work) await m.ackAck();
        const id = before.actionId;
        await far.report(
          { v: 1, kind: 'started', actionId: id, at: '2026-12-03T10:00:01Z' },
          `${id}.started`,
        );
        const reports = await fetchReports(queue, 1);
        expect(reports.map((r) => r.report.kind)).toEqual(['started']);
        await queue.ack(reports);
      } finally {
        await far.close();
      }
    } finally {
      await queue.close();
    }
  }, 90_000);

  it('an ack NATS did not confirm is an error, and the report stays unacked on the server', async () => {
    const queue = await openQueue(route('relay-ack-outage', [nats.url]));
    const far = await FarSide.connect(nats.url, 'relay-ack-outage');
    try {
      const id = randomUUID();
      await far.report({ v: 1, kind: 'started', actionId: id, at: '2026-12-03T10:00:01Z' }, `${id}.started`);
      const reports = await fetchReports(queue, 1);
      expect(reports).toHaveLength(1);
      await nats.kill();
      await expect(queue.ack(reports)).rejects.toMatchObject({
        name: 'TransportError',
        code: 'unreachable',
        message:
          'NATS did not confirm the ack of 1 of 1 reports of relay relay-ack-outage; unless it arrived after all, they come back within the 60 s ack wait',
      });
      await nats.start();
      // JetStream still holds it as delivered and unacked: it redelivers it once the ack wait passes
      // (not waited for here: a minute of JetStream's own timer).
      const admin = await connect({ servers: nats.url });
      try {
        const info = await (await jetstreamManager(admin)).consumers.info(
          'RMM_RESULTS',
          'console-relay-ack-outage',
        );
        expect({ ackPending: info.num_ack_pending, ackFloor: info.ack_floor.stream_seq }).toEqual({
          ackPending: 1,
          ackFloor: 0,
        });
      } finally {
        await admin.close();
      }
    } finally {
      await far.close();
      await queue.close();
    }
  }, 90_000);
});
