import { randomUUID } from 'node:crypto';
import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueConnection, QueuedAction } from '../../../src/plugin/api.js';
import { freePort } from '../../helpers/child-server.js';
import { type NatsServer, startNatsServer } from '../../helpers/nats-server.js';
import { waitFor } from '../../helpers/wait.js';
import { FarSide, fetchReports, openQueue, route } from './far-side.js';

/**
 * The relay transport's queue against Debian's nats-server with JetStream: what goes out (the wire
 * format the relay agent reads), receipts and duplicates, reports back, acks, and cancel.
 */
let nats: NatsServer;
let monitorPort: number;
beforeAll(async () => {
  monitorPort = await freePort();
  nats = await startNatsServer({ config: `http: "127.0.0.1:${monitorPort}"` });
});
afterAll(async () => {
  await nats?.remove();
});

const action = (overrides: Partial<QueuedAction> = {}): QueuedAction => ({
  actionId: randomUUID(),
  type: 'exec',
  device: {
    name: 'web-01',
    host: '10.0.0.5',
    os: 'linux',
    transport: { type: 'ssh', port: 22, user: 'rmm', credentialRef: 'file:/etc/rmm/id_ed25519' },
  },
  command: 'uptime',
  timeoutMs: 300_000,
  connectTimeoutMs: 10_000,
  expiresAt: '2026-12-04T02:00:00.000Z',
  ...overrides,
});

async function connections(): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${monitorPort}/connz`);
  return ((await response.json()) as { num_connections: number }).num_connections;
}

describe('relay queue over JetStream', () => {
  it('creates the streams and consumers as the wire protocol says, once, and leaves other settings alone', async () => {
    const admin = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(admin);
    // An operator's own RMM_RESULTS (a smaller cap, say): kept, and said.
    await jsm.streams.add({ name: 'RMM_RESULTS', subjects: ['rmm.results.*'], max_msg_size: 1000 });
    await jsm.consumers.add('RMM_RESULTS', {
      durable_name: 'console-relay-setup',
      filter_subject: 'rmm.results.relay-setup',
      ack_policy: AckPolicy.Explicit,
      ack_wait: 30e9,
    });
    const queue = await openQueue(route('relay-setup', [nats.url]));
    try {
      expect(queue.notes).toEqual([
        "the stream RMM_RESULTS exists with other settings than rmm's; it is left as it is",
        "the consumer console-relay-setup of RMM_RESULTS exists with other settings than rmm's; it is left as it is",
      ]);
      expect((await jsm.consumers.info('RMM_RESULTS', 'console-relay-setup')).config.ack_wait).toBe(30e9);
      const work = (await jsm.streams.info('RMM_WORK')).config;
      expect(work).toMatchObject({
        subjects: ['rmm.work.*'],
        retention: 'workqueue',
        storage: 'file',
        duplicate_window: 24 * 3600 * 1e9,
        max_msg_size: 262_144,
        discard: 'new',
      });
      expect((await jsm.streams.info('RMM_RESULTS')).config.max_msg_size).toBe(1000);
      expect((await jsm.consumers.info('RMM_WORK', 'relay-setup')).config).toMatchObject({
        durable_name: 'relay-setup',
        filter_subject: 'rmm.work.relay-setup',
        ack_policy: 'explicit',
        ack_wait: 60e9,
        max_deliver: -1,
        deliver_policy: 'all',
      });
      // The results consumer of another relay, made by rmm: as the wire protocol says.
      const other = await openQueue(route('relay-setup-2', [nats.url]));
      await other.close();
      expect((await jsm.consumers.info('RMM_RESULTS', 'console-relay-setup-2')).config).toMatchObject({
        durable_name: 'console-relay-setup-2',
        filter_subject: 'rmm.results.relay-setup-2',
        ack_policy: 'explicit',
        ack_wait: 60e9,
      });
    } finally {
      await queue.close();
      await jsm.streams.delete('RMM_RESULTS');
      await admin.close();
    }
  });

  it('publishes each action as its work message, with the stream sequence as receipt; the same action twice is queued once', async () => {
    const queue = await openQueue(route('relay-submit', [nats.url]));
    const far = await FarSide.connect(nats.url, 'relay-submit');
    try {
      const first = action({ powershell: false });
      const second = action({
        command: 'Get-Date',
        powershell: true,
        device: { ...first.device, os: 'windows' },
      });
      const outcomes = await queue.submit([first, second]);
      expect(outcomes.map((o) => o.accepted)).toEqual([true, true]);
      const again = await queue.submit([first]);
      expect(again).toEqual([outcomes[0]]);

      const messages = await far.pull(10);
      expect(messages).toHaveLength(2);
      const [m1, m2] = messages as [(typeof messages)[0], (typeof messages)[0]];
      expect(m1.subject).toBe('rmm.work.relay-submit');
      expect(m1.headers?.get('Nats-Msg-Id')).toBe(first.actionId);
      expect(String(m1.seq)).toBe((outcomes[0] as { receipt: string }).receipt);
      const { powershell: _omitted, ...rest } = first;
      expect(m1.json()).toEqual({ v: 1, ...rest });
      expect(m1.string()).not.toContain('powershell');
      expect(m2.json()).toMatchObject({ v: 1, actionId: second.actionId, powershell: true });
      for (const m of messages) await m.ackAck();
    } finally {
      await far.close();
      await queue.close();
    }
  });

  it('refuses an action too big for the work stream, plainly, and queues the rest', async () => {
    const queue = await openQueue(route('relay-big', [nats.url]));
    try {
      const big = action({ command: 'x'.repeat(300_000) });
      const small = action();
      const [refused, accepted] = await queue.submit([big, small]);
      expect(refused).toEqual({
        actionId: big.actionId,
        accepted: false,
        error: expect.stringMatching(
          /^the action is \d+ bytes as a work message, over the relay queue's cap of 262144$/,
        ),
      });
      expect(accepted?.accepted).toBe(true);
    } finally {
      await queue.close();
    }
  });

  it('fetches reports as parsed values, returns as soon as they are here, and an acked one never comes back', async () => {
    const queue = await openQueue(route('relay-fetch', [nats.url]));
    const far = await FarSide.connect(nats.url, 'relay-fetch');
    try {
      const id = randomUUID();
      await far.report(
        { v: 1, kind: 'started', actionId: id, at: '2026-12-03T10:00:01.000Z' },
        `${id}.started`,
      );
      await far.report(
        {
          v: 1,
          kind: 'finished',
          actionId: id,
          at: '2026-12-03T10:00:02.000Z',
          status: 'Succeeded',
          exitCode: 0,
          stdout: 'up 3 days\n',
          stderr: '',
          stdoutDropped: 0,
          stderrDropped: 0,
          durationMs: 12,
        },
        `${id}.finished`,
      );
      await far.report('not json');
      const started = Date.now();
      const got = await queue.fetch({ max: 100, waitMs: 10_000 });
      // Three were waiting: the pull asked for three, not for a hundred until it expired.
      expect(Date.now() - started).toBeLessThan(5000);
      expect(got.map((r) => r.report)).toEqual([
        { kind: 'started', actionId: id, at: '2026-12-03T10:00:01.000Z' },
        {
          kind: 'finished',
          actionId: id,
          at: '2026-12-03T10:00:02.000Z',
          status: 'Succeeded',
          exitCode: 0,
          stdout: 'up 3 days\n',
          stderr: '',
          stdoutDropped: 0,
          stderrDropped: 0,
          durationMs: 12,
        },
        { kind: 'invalid', at: '2026-12-03T10:00:00.000Z', problem: 'the report is not JSON' },
      ]);
      await queue.ack(got);
      expect(await queue.fetch({ max: 10, waitMs: 0 })).toEqual([]);
      expect(await queue.fetch({ max: 10, waitMs: 1000 })).toEqual([]);
    } finally {
      await far.close();
      await queue.close();
    }
  });

  it('a fetch waiting for reports ends when its signal aborts, not when the wait is over', async () => {
    const queue = await openQueue(route('relay-abort', [nats.url]));
    try {
      const controller = new AbortController();
      const started = Date.now();
      const waiting = queue.fetch({ max: 10, waitMs: 20_000, signal: controller.signal });
      setTimeout(() => controller.abort(), 300);
      expect(await waiting).toEqual([]);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await queue.close();
    }
  });

  it('a report fetched and not acked comes back after close and reopen; the acked one does not', async () => {
    const r = route('relay-redeliver', [nats.url]);
    let queue: QueueConnection = await openQueue(r);
    const far = await FarSide.connect(nats.url, 'relay-redeliver');
    try {
      const [a, b] = [randomUUID(), randomUUID()];
      for (const id of [a, b])
        await far.report(
          { v: 1, kind: 'started', actionId: id, at: '2026-12-03T10:00:01Z' },
          `${id}.started`,
        );
      const got = await fetchReports(queue, 2);
      expect(got).toHaveLength(2);
      await queue.ack([got[0] as (typeof got)[0]]);
      await queue.close();
      const reopened = await openQueue(r);
      queue = reopened;
      // What rmm made itself, found again: nothing to note.
      expect(reopened.notes).toEqual([]);
      // Given back, it is there for a quick look too (not counted as pending, but coming back).
      const back = await queue.fetch({ max: 10, waitMs: 0 });
      expect(back.map((x) => (x.report as { actionId: string }).actionId)).toEqual([b]);
      await queue.ack(back);
    } finally {
      await far.close();
      await queue.close();
    }
  });

  it('cancel withdraws what the relay has not taken, and says too-late for what it took', async () => {
    const queue = await openQueue(route('relay-cancel', [nats.url]));
    const far = await FarSide.connect(nats.url, 'relay-cancel');
    try {
      const [taken, waiting] = [action(), action()];
      const outcomes = await queue.submit([taken, waiting]);
      const receipt = (i: number) => (outcomes[i] as { receipt: string }).receipt;
      const pulled = await far.pull(1);
      expect(pulled.map((m) => m.headers?.get('Nats-Msg-Id'))).toEqual([taken.actionId]);
      const cancel = queue.cancel?.bind(queue);
      if (!cancel) throw new Error('the relay queue has no cancel');
      expect(await cancel(taken.actionId, receipt(0))).toBe('too-late');
      expect(await cancel(waiting.actionId, receipt(1))).toBe('withdrawn');
      // Withdrawn means gone: the relay never sees it.
      await pulled[0]?.ackAck();
      expect(await far.pull(5)).toEqual([]);
      // A receipt that is not a sequence, or names another action's message: cannot tell.
      expect(await cancel(waiting.actionId, 'x')).toBe('unknown');
      const other = await queue.submit([action()]);
      expect(await cancel(waiting.actionId, (other[0] as { receipt: string }).receipt)).toBe('unknown');
    } finally {
      await far.close();
      await queue.close();
    }
  });

  it('says plainly when the work stream is gone, and the next open creates it again', async () => {
    const holder = await openQueue(route('relay-holder', [nats.url]));
    const queue = await openQueue(route('relay-lost', [nats.url]));
    const admin = await connect({ servers: nats.url });
    try {
      await (await jetstreamManager(admin)).streams.delete('RMM_WORK');
      const lost = action();
      expect(await queue.submit([lost])).toEqual([
        {
          actionId: lost.actionId,
          accepted: false,
          error:
            'no JetStream stream takes rmm.work.relay-lost: NATS lost or removed RMM_WORK (and what it held), or JetStream is off; the next run creates the stream again',
        },
      ]);
      await queue.close();
      // Another route keeps the pooled connection open: the streams are made again all the same.
      const again = await openQueue(route('relay-lost', [nats.url]));
      try {
        expect((await again.submit([lost]))[0]?.accepted).toBe(true);
      } finally {
        await again.close();
      }
    } finally {
      await admin.close();
      await holder.close();
    }
  });

  it('routes on the same NATS share one connection, drained when the last closes', async () => {
    const before = await connections();
    const one = await openQueue(route('relay-pool-a', [nats.url]));
    const two = await openQueue(route('relay-pool-b', [nats.url]));
    expect(await connections()).toBe(before + 1);
    await one.close();
    expect((await two.submit([action()]))[0]?.accepted).toBe(true);
    await two.close();
    // The server sees the drained connection go a moment later.
    await waitFor('the pooled connection to close', async () =>
      (await connections()) === before ? true : undefined,
    );
  });

  it('a NATS that is not there is unreachable, named, in the TransportError', async () => {
    const port = await freePort();
    await expect(
      openQueue(route('relay-away', [`nats://127.0.0.1:${port}`]), { connectTimeoutMs: 2000 }),
    ).rejects.toMatchObject({
      name: 'TransportError',
      code: 'unreachable',
      message: expect.stringContaining(`cannot connect to NATS at nats://127.0.0.1:${port} as rmm-console`),
    });
  });

  it('connect is refused: the relay is reached through its queue only', async () => {
    const { relayTransport } = await import('./far-side.js');
    await expect(
      relayTransport().connect(
        { name: 'web-01', host: '10.0.0.5', os: 'linux', options: {} },
        { connectTimeoutMs: 1 },
      ),
    ).rejects.toMatchObject({ code: 'protocol', message: expect.stringContaining('queued transport') });
  });
});
