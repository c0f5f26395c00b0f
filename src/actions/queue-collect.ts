import type { ReceivedReport } from '../plugin/api.js';
import type { RouteOpener } from './queue-open.js';
import { type Applied, type ApplyContext, applyReport } from './queue-reports.js';
import type { QueuedRow, QueueKey } from './queue-store.js';
import type { ActionEvent } from './runner.js';

/**
 * Collecting a route's reports: fetched in bounded batches, each batch written in one transaction,
 * acked only after its commit (a console killed in between gets the same reports again, and
 * applying them again changes nothing). Then expiry: actions still queued past their deadline.
 */
export interface CollectContext extends Omit<ApplyContext, 'now'> {
  routes: RouteOpener;
  /** The injected clock, epoch ms. */
  now: () => number;
  onEvent: (event: ActionEvent) => void;
  onNotice: (text: string) => void;
  /** Reports per fetch (default 256) and fetches per route and call (default 64): bounded work. */
  batchSize?: number;
  maxBatches?: number;
  /** How long one fetch waits for a first report (default 0: only what is waiting now). */
  waitMs?: number;
  signal?: AbortSignal;
}

/** Routes collected at once. */
export const ROUTES_AT_ONCE = 16;

export interface CollectSummary {
  reports: number;
  /** Routes that could not be opened or read, with why. */
  problems: string[];
}

export async function collectReports(
  keys: readonly QueueKey[],
  context: CollectContext,
): Promise<CollectSummary> {
  const summary: CollectSummary = { reports: 0, problems: [] };
  const batchSize = context.batchSize ?? 256;
  const maxBatches = context.maxBatches ?? 64;
  const left = [...keys];
  // A bounded number of routes at once: device routes (SMB shares) can be many, each its own process.
  const worker = async () => {
    for (let key = left.shift(); key !== undefined; key = left.shift()) await collectRoute(key);
  };
  const collectRoute = async (key: QueueKey) => {
    const route = await context.routes.open(key);
    if ('problem' in route) {
      summary.problems.push(route.problem);
      return;
    }
    let ackFailed = false;
    // Nothing left unacked on this route: the mark a stopped collector leaves is cleared.
    const drained = () => {
      if (!ackFailed) context.queue.routeAcked(key);
    };
    for (let batch = 0; batch < maxBatches && !context.signal?.aborted; batch++) {
      let received: ReceivedReport[];
      try {
        received = await route.connection.fetch({
          max: batchSize,
          waitMs: context.waitMs ?? 0,
          ...(context.signal ? { signal: context.signal } : {}),
        });
      } catch (error) {
        summary.problems.push(`${key.transport}/${key.route}: fetch failed: ${(error as Error).message}`);
        await context.routes.forget(key);
        return;
      }
      if (received.length === 0) return drained();
      const now = context.now();
      const applied = context.queue.transaction(() =>
        received.map((r) => applyReport(key, r.report, { ...context, now })),
      );
      // Acked once committed: a report lost here comes back and is applied again, harmlessly.
      await route.connection.ack(received).catch((error: unknown) => {
        ackFailed = true;
        summary.problems.push(`${key.transport}/${key.route}: ack failed: ${(error as Error).message}`);
      });
      summary.reports += received.length;
      emit(applied, context);
      if (received.length < batchSize) return drained();
    }
  };
  await Promise.all(Array.from({ length: Math.min(ROUTES_AT_ONCE, keys.length) }, worker));
  return summary;
}

function emit(applied: readonly Applied[], context: CollectContext): void {
  for (const a of applied) {
    for (const text of a.notices) context.onNotice(text);
    for (const event of a.events) context.onEvent(event);
  }
}

/**
 * Ends Expired the queued actions whose expiresAt passed more than EXPIRY_GRACE_MS ago and that no
 * report says started: each Delivered one is withdrawn from its queue first when the transport can;
 * one the far side already took (`too-late`) is left to its report. The far side never starts an
 * action past its expiresAt, so a route that cannot be reached does not stop the expiry.
 */
export async function expireOverdue(
  context: Pick<CollectContext, 'queue' | 'routes' | 'now' | 'onEvent' | 'onNotice'>,
  limit = 1000,
): Promise<number> {
  let expired = 0;
  for (const row of context.queue.overdue(context.now(), limit) as QueuedRow[]) {
    const key = { transport: row.Transport, route: row.Route };
    if (row.Status === 'Delivered' && row.Receipt !== null) {
      const route = await context.routes.open(key);
      if ('connection' in route && route.connection.cancel) {
        const answer = await route.connection
          .cancel(row.ActionId, row.Receipt)
          .catch(() => 'unknown' as const);
        if (answer === 'too-late') continue;
      }
    }
    const error = `expired: not started before ${row.ExpiresAt} (queued through ${key.transport}/${key.route})`;
    if (context.queue.endUnstarted(row, 'Expired', error)) {
      expired++;
      context.onEvent({
        type: 'action',
        id: row.ActionId,
        device: row.DeviceId ?? '',
        status: 'Expired',
        error,
        durationMs: 0,
      });
    }
  }
  return expired;
}
