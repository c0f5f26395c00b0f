/**
 * The conformance kit of queued transports (capabilities.queued): one vitest suite a relay, a file
 * queue or any other queued transport must pass against its real far side. Commands are POSIX shell.
 * Use it from a test file:
 *
 *   describeQueuedTransportConformance('relay', async () => ({ transport, route, open, action, ... }));
 *
 * Imports vitest, so only test code loads it.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  QueueConnection,
  QueuedAction,
  QueuedReport,
  QueueOpenOptions,
  QueueRoute,
  ReceivedReport,
  Transport,
} from './api.js';

export interface QueuedConformanceSetup {
  /** A transport with capabilities.queued and its queue. */
  transport: Transport;
  /** A route whose far side reaches the device below. */
  route: QueueRoute;
  open: QueueOpenOptions;
  /** An action for a reachable POSIX device; the kit sets actionId, command and expiresAt. */
  action: Omit<QueuedAction, 'actionId' | 'command' | 'expiresAt' | 'powershell'>;
  /** The far side (a relay agent, a file queue's reader): taking and running actions, or not. */
  farSide: { start(): Promise<void>; stop(): Promise<void> };
  /** A shell command that appends this actionId to the device's own record of what ran. */
  recordCommand(actionId: string): string;
  /** That record: every actionId the device ran, once per run. */
  ranOnDevice(): Promise<string[]>;
  /** Bytes of stdout (and of stderr) the far side keeps; the rest is counted (relay: 256 KiB). */
  outputCapBytes: number;
  /** How long the far side may take to run a short action and report it (default 30 s). */
  reportWithinMs?: number;
  teardown(): Promise<void>;
}

type Finished = Extract<QueuedReport, { kind: 'finished' }>;

export function describeQueuedTransportConformance(
  name: string,
  setup: () => Promise<QueuedConformanceSetup>,
): void {
  describe(`queued transport conformance: ${name}`, () => {
    let env: QueuedConformanceSetup | undefined;
    let conn: QueueConnection | undefined;
    const ready = () => {
      if (!env || !conn) throw new Error('queued conformance setup failed (see beforeAll)');
      return { env, conn };
    };
    const within = () => env?.reportWithinMs ?? 30_000;
    const open = async () => {
      if (!env?.transport.queue) throw new Error('capabilities.queued without a queue');
      return env.transport.queue.open(env.route, env.open);
    };
    const action = (command: (id: string) => string, expiresAt = Date.now() + 3600_000): QueuedAction => {
      const actionId = randomUUID();
      return {
        ...ready().env.action,
        actionId,
        command: command(actionId),
        expiresAt: new Date(expiresAt).toISOString(),
      };
    };
    const submitted = async (connection: QueueConnection, actions: QueuedAction[]) => {
      const outcomes = await connection.submit(actions);
      expect(outcomes.map((o) => [o.actionId, o.accepted])).toEqual(actions.map((a) => [a.actionId, true]));
      return outcomes.map((o) => (o.accepted ? o.receipt : ''));
    };

    beforeAll(async () => {
      env = await setup();
      expect(env.transport.capabilities.queued).toBe(true);
      await env.farSide.start();
      conn = await open();
    }, 60_000);
    afterAll(async () => {
      await conn?.close().catch(() => {});
      await env?.teardown();
    });

    it('submit: a started and a finished report each, with the exit code and the output', async () => {
      const { env, conn } = ready();
      const ok = action((id) => `${env.recordCommand(id)}; echo out-ok; echo err-ok >&2`);
      const failing = action((id) => `${env.recordCommand(id)}; echo out-3; exit 3`);
      await submitted(conn, [ok, failing]);
      const reports = await collect(conn, (all) => finishedOf(all, ok) && finishedOf(all, failing), within());
      for (const a of [ok, failing])
        expect(
          reports.filter((r) => 'actionId' in r && r.actionId === a.actionId).map((r) => r.kind),
        ).toEqual(['started', 'finished']);
      expect(finishedOf(reports, ok)).toMatchObject({
        status: 'Succeeded',
        exitCode: 0,
        stdout: 'out-ok\n',
        stderr: 'err-ok\n',
      });
      expect(finishedOf(reports, failing)).toMatchObject({
        status: 'Failed',
        exitCode: 3,
        stdout: 'out-3\n',
      });
      expect(typeof finishedOf(reports, ok)?.durationMs).toBe('number');
      const ran = await env.ranOnDevice();
      expect(ran.filter((id) => id === ok.actionId || id === failing.actionId).sort()).toEqual(
        [ok.actionId, failing.actionId].sort(),
      );
    }, 120_000);

    it('the same actionId submitted twice (and again once it ran) runs once', async () => {
      const { env, conn } = ready();
      const once = action((id) => env.recordCommand(id));
      await submitted(conn, [once]);
      await submitted(conn, [once]);
      await collect(conn, (all) => finishedOf(all, once), within());
      await submitted(conn, [once]);
      // A far side may report the stored result again; it never runs it again.
      await collect(conn, null, 2_000);
      expect((await env.ranOnDevice()).filter((id) => id === once.actionId)).toEqual([once.actionId]);
    }, 120_000);

    it('a report not acked comes back after close and reopen; an acked one does not', async () => {
      const { env } = ready();
      let first = await open();
      const a = action((id) => env.recordCommand(id));
      await submitted(first, [a]);
      await collect(first, (all) => finishedOf(all, a), within(), { ack: false });
      await first.close();
      first = await open();
      const again = await collect(first, (all) => finishedOf(all, a), within());
      expect(finishedOf(again, a)).toMatchObject({ status: 'Succeeded' });
      await first.close();
      const second = await open();
      try {
        const after = await collect(second, null, 2_000);
        expect(after.filter((r) => 'actionId' in r && r.actionId === a.actionId)).toEqual([]);
      } finally {
        await second.close();
      }
      expect((await env.ranOnDevice()).filter((id) => id === a.actionId)).toEqual([a.actionId]);
    }, 120_000);

    it('cancel while the far side is stopped: withdrawn, and it never runs once the far side starts', async () => {
      const { env, conn } = ready();
      if (!conn.cancel) return; // cancel is optional
      await env.farSide.stop();
      const a = action((id) => env.recordCommand(id));
      let receipt: string | undefined;
      try {
        [receipt] = await submitted(conn, [a]);
        expect(await conn.cancel(a.actionId, receipt as string)).toBe('withdrawn');
      } finally {
        await env.farSide.start();
      }
      const later = await collect(conn, null, 3_000);
      expect(later.filter((r) => 'actionId' in r && r.actionId === a.actionId)).toEqual([]);
      expect(await env.ranOnDevice()).not.toContain(a.actionId);
    }, 120_000);

    it('expiresAt in the past: finished Expired, never run', async () => {
      const { env, conn } = ready();
      const a = action((id) => env.recordCommand(id), Date.now() - 1000);
      await submitted(conn, [a]);
      const reports = await collect(conn, (all) => finishedOf(all, a), within());
      expect(finishedOf(reports, a)?.status).toBe('Expired');
      expect(reports.filter((r) => r.kind === 'started' && r.actionId === a.actionId)).toEqual([]);
      expect(await env.ranOnDevice()).not.toContain(a.actionId);
    }, 120_000);

    it('output over the caps is cut and counted, on each stream', async () => {
      const { env, conn } = ready();
      const total = env.outputCapBytes + 50_000;
      const bytes = (stream: string) => `head -c ${total} /dev/zero | tr '\\0' ${stream}`;
      const a = action(() => `${bytes('o')}; ${bytes('e')} >&2`);
      await submitted(conn, [a]);
      const finished = finishedOf(await collect(conn, (all) => finishedOf(all, a), within()), a);
      expect(finished?.status).toBe('Succeeded');
      expect(Buffer.byteLength(finished?.stdout ?? '')).toBe(env.outputCapBytes);
      expect(finished?.stdoutDropped).toBe(total - env.outputCapBytes);
      expect(Buffer.byteLength(finished?.stderr ?? '')).toBe(env.outputCapBytes);
      expect(finished?.stderrDropped).toBe(total - env.outputCapBytes);
    }, 120_000);
  });
}

function finishedOf(reports: readonly QueuedReport[], action: QueuedAction): Finished | undefined {
  return reports.find((r): r is Finished => r.kind === 'finished' && r.actionId === action.actionId);
}

const EMPTY_PAUSE_MS = 25;

/**
 * Fetches reports until `done` holds for what came, failing the test if it does not within
 * `withinMs`; with `done` null, for all of `withinMs`. Acks each batch unless told not to. Bounded
 * in time and in fetches.
 */
async function collect(
  conn: QueueConnection,
  done: ((reports: QueuedReport[]) => unknown) | null,
  withinMs: number,
  options: { ack?: boolean } = {},
): Promise<QueuedReport[]> {
  const reports: QueuedReport[] = [];
  const deadline = Date.now() + withinMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    const batch: ReceivedReport[] = await conn.fetch({
      max: 64,
      waitMs: Math.max(1, Math.min(500, deadline - Date.now())),
    });
    for (const r of batch) expect(r.report.kind, JSON.stringify(r.report)).not.toBe('invalid');
    reports.push(...batch.map((r) => r.report));
    if (options.ack !== false && batch.length > 0) await conn.ack(batch);
    if (done?.(reports)) return reports;
    // fetch waits *at most* waitMs: one that answers an empty queue at once (the relay's, below
    // NATS's 1 s pull) would otherwise spend the fetch bound long before the time bound.
    if (batch.length === 0) await sleep(Math.max(0, Math.min(EMPTY_PAUSE_MS, deadline - Date.now())));
  }
  if (done) expect(done(reports), `reports within ${withinMs} ms: ${JSON.stringify(reports)}`).toBeTruthy();
  return reports;
}
