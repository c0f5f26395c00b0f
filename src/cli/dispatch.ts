import type { Config } from '@oclif/core';
import { actionHooks } from '../actions/hooks.js';
import type { Job } from '../actions/jobs.js';
import { type OpenQueue, openQueue } from '../actions/open-queue.js';
import { routeOpener } from '../actions/queue-open.js';
import { queuedTransports } from '../actions/queue-routing.js';
import { type QueueStore, queueStore } from '../actions/queue-store.js';
import { emptySummary, runActions } from '../actions/runner.js';
import type { ActionRow, ActionStore } from '../actions/store.js';
import { devicesByName } from '../actions/targets.js';
import { resolveActor } from '../actor.js';
import type { CredentialPolicy } from '../credentials/policy.js';
import { ExitCode } from '../errors.js';
import type { Db } from '../state/connection.js';
import { readQueueRoutes } from '../transports/queue-routes.js';
import { loadTransports } from '../transports/registry.js';
import { actionOutput, type StillQueued } from '../views/action-events.js';
import { writeStderr } from '../views/output.js';
import { stillQueuedLines } from '../views/queued-actions.js';
import { recoveredLines } from '../views/recovered-actions.js';
import { runQueued, splitQueued } from './queued-dispatch.js';

/**
 * The terminal side of the one path from queued rows to results that `rmm exec`, `rmm actions run`
 * and `rmm inventory collect` share: the queue opened (actions/open-queue.ts) with what stopped
 * runners left shown, then the jobs run through the installed transports with Ctrl-C (and SIGTERM,
 * SIGHUP) wired to cancel, the runner's events shown as they come (views/action-events.ts), and the
 * outcome as an exit code.
 */
export interface DispatchOptions {
  /** oclif's: the plugins whose transports run the jobs. */
  config: Config;
  /** The console's data directory (queued transports keep state under it). */
  dataDir: string;
  db: Db;
  store: ActionStore;
  concurrency: number;
  json: boolean;
  /** The summary's first words: `Exec complete`. */
  label: string;
  /** Rows not started when a cancel comes: exec cancels its own, actions run leaves the queue's. */
  unstarted: 'cancel' | 'leave';
  /** The credential references this console resolves (credentials/policy.ts). */
  credentials: CredentialPolicy;
  /** For devices behind a relay: how long to wait for their results, ms (default 0). */
  waitMs?: number;
  /** Wait all of waitMs even while a relay is not seen (an explicit --wait). */
  waitUnseen?: boolean;
  /** --expire in seconds (default: each route's own). */
  expireSeconds?: number;
  /** The actor, for the AuditLog rows of queued results. */
  actor?: string;
}

/** openQueue for a command: --actor resolved, and what recovery ended said on stderr. Close db when done. */
export function openRunnerQueue(dataDir: string, actorFlag: string | undefined): OpenQueue {
  const queue = openQueue(dataDir, resolveActor(actorFlag));
  const lines = recoveredLines(queue.recovered);
  if (lines.length > 0) writeStderr(lines.join('\n'));
  return queue;
}

/**
 * The signals that mean nobody wants the run any more: Ctrl-C, a cancelled CI job or service stop
 * (SIGTERM), a closed terminal (SIGHUP). Each cancels as Ctrl-C does; a second one kills at once.
 */
const CANCEL_SIGNALS = { SIGINT: 'Ctrl-C', SIGTERM: 'SIGTERM', SIGHUP: 'SIGHUP' } as const;

/** Runs the jobs; returns the exit code: 0 all succeeded, 1 some did not, 130 cancelled (CANCEL_SIGNALS). */
export async function dispatch(jobs: readonly Job[], options: DispatchOptions): Promise<ExitCode> {
  // Schemas are compiled by the runner, only for the transports these jobs use.
  const registry = await loadTransports(options.config, { compileSchemas: false });
  for (const line of registry.refused) writeStderr(`Refused: ${line}`);
  const controller = new AbortController();
  const handlers = Object.entries(CANCEL_SIGNALS).map(([signal, name]) => {
    const cancel = () => controller.abort(new Error(`cancelled (${name})`));
    process.once(signal, cancel);
    return [signal, cancel] as const;
  });
  try {
    const output = actionOutput(jobs.length, {
      json: options.json,
      live: !options.json && process.stderr.isTTY === true,
      label: options.label,
    });
    const hooks = actionHooks(options.db);
    const isQueued = queuedTransports(registry);
    const queue = queueStore(options.db, options.actor ?? 'rmm');
    const { direct, queued } = splitQueued(jobs, isQueued);
    const declared = queued.length ? readQueueRoutes(options.db) : new Map();
    let devices: ReturnType<typeof devicesByName> | undefined;
    const devicesNow = () => {
      devices ??= devicesByName(options.db);
      return devices;
    };
    const routes = routeOpener({
      registry,
      credentials: options.credentials,
      routes: declared,
      devices: devicesNow,
      dataDir: options.dataDir,
      connectTimeoutMs: 15_000,
    });
    const onEvent = (event: Parameters<typeof output.event>[0]) => output.event(event);
    const onNotice = (text: string) => writeStderr(text);
    try {
      await Promise.all([
        runActions(direct, {
          registry,
          credentials: options.credentials,
          store: options.store,
          concurrency: options.concurrency,
          unstarted: options.unstarted,
          hooks,
          signal: controller.signal,
          onEvent,
          onNotice,
        }),
        runQueued(queued, {
          db: options.db,
          store: options.store,
          queue,
          routes,
          declared,
          isQueued,
          hooks,
          devices: devicesNow,
          ...(options.expireSeconds === undefined ? {} : { expireSeconds: options.expireSeconds }),
          waitMs: options.waitMs ?? 0,
          waitUnseen: options.waitUnseen === true,
          now: Date.now,
          signal: controller.signal,
          onEvent,
          onNotice,
        }),
      ]);
    } finally {
      await routes.closeAll();
    }
    // Counted from the rows: direct and queued ends alike, and what a relay still holds.
    const summary = emptySummary();
    const rows = options.store.load(jobs.map((j) => j.id));
    for (const row of rows) summary[row.Status]++;
    // What a queue still holds: Delivered or Running, or Pending with a delivery intent (its route
    // was down: submitted later). Each row's delivery is read once.
    const waiting = stillQueuedOf(rows, queue);
    output.done(
      summary,
      waiting.map((w) => w.shown),
    );
    if (waiting.length > 0 && !options.json)
      writeStderr(stillQueuedLines(waiting.map((w) => w.row)).join('\n'));
    if (controller.signal.aborted) return ExitCode.cancelled;
    if (waiting.length > 0) return ExitCode.queued;
    return summary.Succeeded === jobs.length ? ExitCode.ok : ExitCode.error;
  } finally {
    for (const [signal, cancel] of handlers) process.off(signal, cancel);
  }
}

/** The rows a queue still holds, each with what --json's queued-at-end object shows (route, deadline). */
function stillQueuedOf(
  rows: readonly ActionRow[],
  queue: QueueStore,
): Array<{ row: ActionRow; shown: StillQueued }> {
  return rows.flatMap((row) => {
    if (row.Status !== 'Delivered' && row.Status !== 'Running' && row.Status !== 'Pending') return [];
    const queued = queue.row(row.ActionId);
    if (!queued) return [];
    const shown = {
      id: row.ActionId,
      device: row.DeviceId ?? '',
      status: row.Status,
      route: `${queued.Transport}/${queued.Route}`,
      expiresAt: queued.ExpiresAt,
    };
    return [{ row, shown }];
  });
}
