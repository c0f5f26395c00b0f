import type { Db } from '../state/connection.js';
import { type CollectContext, type CollectSummary, collectReports, expireOverdue } from './queue-collect.js';
import type { QueueKey } from './queue-store.js';
import { type QueuedSubmission, type SubmitSummary, submitQueued } from './queue-submit.js';
import type { ActionStore } from './store.js';

/**
 * One pass over every queued route, as rmm serve runs it each tick and rmm actions collect once:
 * submit the intents nobody holds (a submitter that stopped, a route that could not be opened),
 * collect the reports waiting, expire what is overdue. Each part is bounded.
 */
export interface QueueStepContext extends CollectContext {
  db: Db;
  store: ActionStore;
  /** Routes declared now: collected even when no action of ours waits there (heartbeats). */
  declared: readonly QueueKey[];
  /** Intents submitted again per pass. */
  resubmitLimit?: number;
}

export interface QueueStepSummary {
  resubmitted: SubmitSummary;
  collected: CollectSummary;
  expired: number;
}

export async function runQueueStep(context: QueueStepContext): Promise<QueueStepSummary> {
  const again = context.queue.unsubmitted(context.resubmitLimit ?? 1000);
  const devices = again.length > 0 ? context.devices() : new Map();
  const submissions: QueuedSubmission[] = again.map((row) => ({
    row,
    device: devices.get(row.DeviceId ?? ''),
    key: { transport: row.Transport, route: row.Route },
    expiresAt: row.ExpiresAt,
    again: true,
  }));
  const resubmitted =
    submissions.length > 0
      ? await submitQueued(submissions, context)
      : { delivered: 0, failed: 0, waiting: 0 };
  const collected = await collectReports(routesToCollect(context.db, context.declared), context);
  const expired = await expireOverdue(context);
  return { resubmitted, collected, expired };
}

/**
 * The declared routes, every route an action still waits on (a route removed since, say), and every
 * route owed an ack (a collector stopped between its commit and its ack: the reports came back).
 */
export function routesToCollect(db: Db, declared: readonly QueueKey[]): QueueKey[] {
  const keys = new Map(declared.map((k) => [`${k.transport}/${k.route}`, k]));
  const waiting = db
    .prepare(
      `SELECT DISTINCT d.Transport AS transport, d.Route AS route FROM ActionDeliveries d
       JOIN Actions a ON a.ActionId = d.ActionId WHERE a.Status IN ('Pending', 'Delivered', 'Running')
       UNION SELECT Transport, Route FROM QueueRoutes WHERE AckOwed = 1`,
    )
    .all() as QueueKey[];
  for (const k of waiting) keys.set(`${k.transport}/${k.route}`, { transport: k.transport, route: k.route });
  return [...keys.values()];
}
