import type { Config } from '@oclif/core';
import { resolveActor } from '../actor.js';
import { type CredentialPolicy, credentialPolicy } from '../credentials/policy.js';
import { ExitCode } from '../errors.js';
import type { Db } from '../state/connection.js';
import { openResourceDatabase } from '../state/resource-database.js';
import { loadTransports } from '../transports/registry.js';
import { actionOutput } from '../views/action-events.js';
import { isBusy, lockedBeforeRun } from './busy.js';
import { actionHooks } from './hooks.js';
import type { Job } from './jobs.js';
import { type Recovered, recoverStaleActions } from './recover.js';
import { runActions } from './runner.js';
import { type ActionStore, actionStore } from './store.js';

/**
 * The one path from queued rows to results that `rmm exec`, `rmm actions run` and `rmm inventory
 * collect` share: open the queue and end what a stopped runner left Running, then run the jobs
 * through the installed transports with Ctrl-C (and SIGTERM, SIGHUP) wired to cancel, and show them.
 */
export interface DispatchOptions {
  /** oclif's: the plugins whose transports run the jobs. */
  config: Config;
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
}

/**
 * The console database for a runner, with stale Running rows already ended, and the credential
 * references this console resolves (checked first: a malformed widening changes nothing). Close db
 * when done.
 */
export function openQueue(
  dataDir: string,
  actorFlag: string | undefined,
): { db: Db; store: ActionStore; credentials: CredentialPolicy } {
  const credentials = credentialPolicy(dataDir);
  const { db } = openResourceDatabase(dataDir);
  try {
    db.pragma('synchronous = NORMAL'); // WAL: one fsync per checkpoint, not per status change
    const store = actionStore(db, resolveActor(actorFlag));
    try {
      recoverStale(db, store);
    } catch (error) {
      if (isBusy(error)) throw lockedBeforeRun('while ending what stopped runners left', error);
      throw error;
    }
    return { db, store, credentials };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Before a runner claims anything: ends stale Running rows, and the Pending rows of an exec that
 * stopped (see recover.ts), and says so on stderr.
 */
function recoverStale(db: Db, store: ActionStore): void {
  const recovered = recoverStaleActions(db, store);
  const say = (rows: Recovered[], heading: (n: number, s: string) => string) => {
    if (rows.length === 0) return;
    const lines = rows.slice(0, 10).map((r) => `  ${r.id} (${r.device}): ${r.error}`);
    if (rows.length > 10) lines.push(`  ... and ${rows.length - 10} more`);
    process.stderr.write(`${heading(rows.length, rows.length === 1 ? '' : 's')}:\n${lines.join('\n')}\n`);
  };
  say(
    recovered.filter((r) => r.status === 'Failed'),
    (n, s) => `Recovered ${n} action${s} a stopped runner left Running, now Failed`,
  );
  say(
    recovered.filter((r) => r.status === 'Cancelled'),
    (n, s) => `Cancelled ${n} action${s} a stopped rmm exec had queued and not started`,
  );
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
  for (const line of registry.refused) process.stderr.write(`Refused: ${line}\n`);
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
    const summary = await runActions(jobs, {
      registry,
      credentials: options.credentials,
      store: options.store,
      concurrency: options.concurrency,
      unstarted: options.unstarted,
      hooks: actionHooks(options.db),
      signal: controller.signal,
      onEvent: (event) => output.event(event),
      onNotice: (text) => process.stderr.write(`${text}\n`),
    });
    output.done(summary);
    if (controller.signal.aborted) return ExitCode.cancelled;
    return summary.Succeeded === jobs.length ? ExitCode.ok : ExitCode.error;
  } finally {
    for (const [signal, cancel] of handlers) process.off(signal, cancel);
  }
}
