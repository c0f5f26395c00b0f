import type { Job } from '../actions/jobs.js';
import { collectReports } from '../actions/queue-collect.js';
import type { RouteOpener } from '../actions/queue-open.js';
import { type IsQueued, queueKeyOf, routeConfigOf } from '../actions/queue-routing.js';
import { ROUTE_ALIVE_MS } from '../actions/queue-status.js';
import type { QueueKey, QueueStore } from '../actions/queue-store.js';
import { type QueuedSubmission, submitQueued } from '../actions/queue-submit.js';
import type { ActionEvent, ActionHooks } from '../actions/runner.js';
import type { ActionStore } from '../actions/store.js';
import type { DeviceRecord } from '../actions/targets.js';
import type { Db } from '../state/connection.js';
import { DEFAULT_ACTION_EXPIRY_SECONDS, type QueueRouteConfig } from '../transports/queue-routes.js';

/**
 * The queued half of a run (devices reached through a relay): submit, then wait for their reports
 * while their routes look alive (a report or heartbeat within ROUTE_ALIVE_MS), up to the wait; with
 * waitUnseen, up to the wait whatever the routes look like.
 * Waiting stops early when nothing is left queued; an abort (Ctrl-C) stops waiting only: what was
 * delivered stays delivered and runs.
 */

export interface QueuedRunOptions {
  db: Db;
  store: ActionStore;
  queue: QueueStore;
  routes: RouteOpener;
  declared: ReadonlyMap<string, QueueRouteConfig>;
  /** Which transport types are queued ones: a device of such a type is its own route. */
  isQueued: IsQueued;
  hooks: ActionHooks;
  devices: () => ReadonlyMap<string, DeviceRecord>;
  /** --expire in seconds; default each route's expirySeconds. */
  expireSeconds?: number;
  /** How long to wait for results after delivery, ms (0: return once delivered). */
  waitMs: number;
  /**
   * Wait all of waitMs even for a route not seen lately (the user asked for this wait with
   * --wait): a relay that is offline at submit time and comes back within it is waited for.
   * Otherwise (the default wait) an unseen route ends the wait at once.
   */
  waitUnseen?: boolean;
  now: () => number;
  signal: AbortSignal;
  onEvent: (event: ActionEvent) => void;
  onNotice: (text: string) => void;
}

/** Splits jobs into those a queue carries (queue-routing.ts) and the rest. */
export function splitQueued(jobs: readonly Job[], isQueued: IsQueued): { direct: Job[]; queued: Job[] } {
  const direct: Job[] = [];
  const queued: Job[] = [];
  for (const job of jobs) (queueKeyOf(job.device, isQueued) && !job.problem ? queued : direct).push(job);
  return { direct, queued };
}

export async function runQueued(jobs: readonly Job[], options: QueuedRunOptions): Promise<void> {
  if (jobs.length === 0) return;
  const rows = new Map(options.store.load(jobs.map((j) => j.id)).map((r) => [r.ActionId, r]));
  const submissions: QueuedSubmission[] = [];
  for (const job of jobs) {
    const row = rows.get(job.id);
    const key = queueKeyOf(job.device, options.isQueued);
    if (!row || !key) continue;
    const seconds =
      options.expireSeconds ??
      routeConfigOf(key, options.declared, options.devices)?.expirySeconds ??
      DEFAULT_ACTION_EXPIRY_SECONDS;
    submissions.push({
      row,
      device: job.device,
      key,
      expiresAt: new Date(options.now() + seconds * 1000).toISOString(),
    });
  }
  await submitQueued(submissions, options);
  const ids = new Set(jobs.map((j) => j.id));
  const keys = [...new Map(submissions.map((s) => [`${s.key.transport}/${s.key.route}`, s.key])).values()];
  const deadline = options.now() + options.waitMs;
  // Bounded in time (the deadline; each fetch waits at most 1 s) and in passes: one per 100 ms of the
  // wait, plus two per action, since its started and its finished report may each come in a pass of
  // their own (a pass returns with the first report: reports that came one by one, faster than one
  // per 100 ms, used up the passes and ended the wait early). The first pass collects whatever the
  // route has, heartbeats included, before its liveness is judged.
  const maxPasses = Math.ceil(options.waitMs / 100) + 1 + 2 * jobs.length;
  for (let pass = 0; pass < maxPasses && options.now() < deadline && !options.signal.aborted; pass++) {
    const open = keys.filter(
      (k) =>
        stillQueued(options, ids, k) > 0 &&
        (pass === 0 || options.waitUnseen === true || routeAlive(options, k)),
    );
    if (open.length === 0) break;
    await collectReports(open, {
      ...options,
      waitMs: Math.min(1000, Math.max(0, deadline - options.now())),
      maxBatches: 16,
    });
  }
}

function stillQueued(options: QueuedRunOptions, ids: ReadonlySet<string>, key: QueueKey): number {
  return options.queue.inFlight(key).filter((id) => ids.has(id)).length;
}

/** Seen within ROUTE_ALIVE_MS (QueueRoutes, written by every collect). */
function routeAlive(options: QueuedRunOptions, key: QueueKey): boolean {
  const seen = options.db
    .prepare('SELECT LastSeenAt FROM QueueRoutes WHERE Transport = ? AND Route = ?')
    .pluck()
    .get(key.transport, key.route) as number | undefined;
  return seen !== undefined && options.now() - seen <= ROUTE_ALIVE_MS;
}
