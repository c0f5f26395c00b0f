import { setTimeout as sleep } from 'node:timers/promises';
import type { ValidateFunction } from 'ajv';
import type { CredentialPolicy } from '../credentials/policy.js';
import { RmmError } from '../errors.js';
import { type DeviceTarget, type ExecResult, type Transport, TransportError } from '../plugin/api.js';
import { prepareTarget } from '../transports/device-target.js';
import { optionsValidator } from '../transports/options-validator.js';
import type { TransportRegistry } from '../transports/registry.js';
import { BUSY_RETRY_DELAYS_MS, isBusy } from './busy.js';
import { decodeClixml } from './clixml.js';
import { type JobSignals, jobSignals } from './job-signals.js';
import { CONNECT_ATTEMPTS, type Job } from './jobs.js';
import { resolveSecret } from './secret.js';
import {
  ACTION_STATUSES,
  type ActionResult,
  type ActionStatus,
  type ActionStore,
  capOutput,
  FINAL_STATUSES,
} from './store.js';
import type { DeviceRecord } from './targets.js';

/**
 * Runs queued actions through their devices' transports: per transport a sliding window (as one
 * action ends the next starts, never lockstep batches), at most the transport's batch size and
 * --concurrency wide. Each row is claimed (Pending -> Running, with this runner's lease) just before
 * it starts, so a row cancelled meanwhile or taken by another runner is not run. A connection that
 * fails before anything was sent is retried with backoff and jitter; nothing else is. The abort
 * signal (Ctrl-C) stops what runs (Cancelled) and, per `unstarted`, cancels what has not started or
 * leaves it Pending for a later run; no row this runner claimed is left Running.
 */
export interface RunOptions {
  registry: TransportRegistry;
  /** Which credential references may be resolved: refused ones fail before connecting. */
  credentials: CredentialPolicy;
  store: ActionStore;
  concurrency: number;
  signal: AbortSignal;
  /** On abort: 'cancel' ends rows not started as Cancelled (exec); 'leave' keeps them Pending. */
  unstarted: 'cancel' | 'leave';
  onEvent: (event: ActionEvent) => void;
  /** What some action types make of their results (inventory stores what it collected): by ActionType. */
  hooks?: ActionHooks;
  /** Pauses between tries to write to a database another writer keeps locked (busy.ts); bounded. */
  busyRetryDelaysMs?: readonly number[];
  /** Told when the database turns out locked and results wait to be written. */
  onNotice?: (text: string) => void;
}

/**
 * An action type's say in its own outcome. `succeeded` sees the full output of a command that exited
 * 0 (before the 64 KiB cap of Actions.Result) and returns a one-line note shown in place of stdout;
 * if it throws, the action ends Failed with that message. `unreachable` learns of a device that did
 * not answer.
 */
export interface ActionHook {
  succeeded?(job: Job, result: ExecResult): string;
  unreachable?(job: Job): void;
}

export type ActionHooks = Readonly<Record<string, ActionHook | undefined>>;

export interface ActionEvent {
  type: 'action';
  id: string;
  device: string;
  status: ActionStatus;
  exitCode?: number;
  durationMs?: number;
  error?: string;
  stdout?: string;
  stderr?: string;
  /** The action type's one-line account of a success (inventory: what it found), shown in place of stdout. */
  note?: string;
}

export type Summary = Record<ActionStatus, number>;

const END_BATCH_MS = 25;

/** What a write that waited out another writer's lock returns once the runner gave up on it. */
const LOCKED = Symbol('locked');
type Patiently = <T>(write: () => T) => Promise<T | typeof LOCKED>;
const END_BATCH_ROWS = 100;

export function emptySummary(): Summary {
  return Object.fromEntries(ACTION_STATUSES.map((status) => [status, 0])) as Summary;
}

export async function runActions(jobs: readonly Job[], options: RunOptions): Promise<Summary> {
  const summary = emptySummary();
  const byTransport = new Map<string, Job[]>();
  for (const job of jobs) {
    // Jobs that cannot run (no device) share the '' lane: they only need ending.
    const type = job.device ? String(job.device.transport.type) : '';
    const queue = byTransport.get(type);
    if (queue) queue.push(job);
    else byTransport.set(type, [job]);
  }
  const report = (job: Job, status: ActionStatus, result: ActionResult) => {
    summary[status]++;
    const event: ActionEvent = { type: 'action', id: job.id, device: job.deviceName, status };
    event.durationMs = result.durationMs;
    if (result.exitCode !== undefined) event.exitCode = result.exitCode;
    if (result.error !== undefined) event.error = result.error;
    if (result.stdout !== undefined) event.stdout = result.stdout;
    if (result.stderr !== undefined) event.stderr = result.stderr;
    if (result.note !== undefined) {
      event.note = result.note;
      delete event.stdout;
    }
    options.onEvent(event);
  };
  // Ends are written in batches, one transaction at most END_BATCH_MS apart, and reported once
  // committed. A runner killed in between leaves those rows Running: recovery ends them Failed as
  // "may or may not have completed", which is what they are to anyone reading the queue then.
  // While another writer keeps the database locked, ends are kept and written again after a pause
  // (busy.ts); past the last pause the runner gives up on the database (`locked`, below).
  const ending: Array<{ job: Job; status: ActionStatus; result: ActionResult }> = [];
  let endTimer: NodeJS.Timeout | undefined;
  const delays = options.busyRetryDelaysMs ?? BUSY_RETRY_DELAYS_MS;
  let busyTries = 0;
  let locked: unknown;
  /** A write that another writer's lock refused: true to try again after the pause it waits. */
  const wait = async (error: unknown): Promise<boolean> => {
    if (!isBusy(error) || locked) throw error;
    if (busyTries === 0)
      options.onNotice?.(
        'the database is locked by another writer: results are kept and written once it is free',
      );
    const delay = delays[busyTries++];
    if (delay === undefined) {
      locked = error;
      return false;
    }
    await sleep(delay);
    return true;
  };
  /** Writes what has ended; false when the database was locked (nothing written, all kept). */
  const tryFlush = (): boolean => {
    clearTimeout(endTimer);
    endTimer = undefined;
    if (ending.length === 0 || locked) return true;
    let ended: boolean[];
    try {
      ended = options.store.finishMany(
        ending.map(({ job, status, result }) => ({
          id: job.id,
          device: job.deviceName,
          type: job.type,
          status,
          result,
        })),
      );
    } catch (error) {
      if (isBusy(error)) return false;
      throw error;
    }
    busyTries = 0;
    ending.splice(0, ended.length).forEach(({ job, status, result }, i) => {
      if (ended[i]) report(job, status, result);
      else endedElsewhere(job, 'while this runner ran it');
    });
    return true;
  };
  let retrying: Promise<void> | undefined;
  const flushEnds = () => {
    if (retrying || tryFlush()) return;
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    retrying = (async () => {
      while ((await wait(busy)) && !tryFlush()) {}
    })().finally(() => {
      retrying = undefined;
    });
  };
  const end = (job: Job, status: ActionStatus, result: ActionResult) => {
    ending.push({ job, status, result });
    if (retrying) return;
    if (ending.length >= END_BATCH_ROWS) flushEnds();
    else endTimer ??= setTimeout(flushEnds, END_BATCH_MS);
  };
  /** A write (a claim, a hook's) that waits out another writer's lock like the ends do. */
  const patiently: Patiently = async (write) => {
    for (;;) {
      if (locked) return LOCKED;
      try {
        const value = write();
        busyTries = 0;
        return value;
      } catch (error) {
        if (!(await wait(error))) return LOCKED;
      }
    }
  };
  const claim = (id: string) => patiently(() => options.store.claim(id));
  // The row is no longer ours (cancelled with rmm actions cancel, ended by another runner's
  // recovery, or another runner has it): say how it ended if it has; a row another runner is
  // running is that runner's to report.
  const endedElsewhere = (job: Job, when: string) => {
    const now = options.store.statusOf(job.id);
    if (now && FINAL_STATUSES.includes(now))
      report(job, now, { error: `ended as ${now} elsewhere ${when}`, durationMs: 0 });
  };
  let failure: unknown;
  const signals = jobSignals(options.signal);
  await Promise.all(
    [...byTransport].map(async ([type, queue]) => {
      const registered = type ? options.registry.transports.get(type) : undefined;
      let unusable = `no transport "${type}" is installed (see rmm transports)`;
      let validate: ValidateFunction | undefined;
      const compiled = registered ? optionsValidator(registered.transport) : undefined;
      if (typeof compiled === 'string') unusable = `plugin ${registered?.plugin}: ${compiled}`;
      else validate = compiled;
      const batch = registered?.transport.batchSize ?? 1;
      const width = Math.max(1, Math.min(batch, options.concurrency, queue.length));
      let next = 0;
      const lane = async () => {
        while (next < queue.length) {
          const job = queue[next++] as Job;
          if (options.signal.aborted && !locked) {
            if (options.unstarted === 'leave') summary.Pending++;
            else end(job, 'Cancelled', { error: 'cancelled before it started', durationMs: 0 });
            continue;
          }
          const claimed = locked ? LOCKED : await claim(job.id);
          if (claimed === LOCKED) {
            // Not started, and the database cannot say so: the next runner's recovery will.
            summary.Pending++;
            continue;
          }
          if (!claimed) {
            endedElsewhere(job, 'before this runner started it');
            continue;
          }
          options.onEvent({ type: 'action', id: job.id, device: job.deviceName, status: 'Running' });
          if (job.problem || !job.device || !registered || !validate) {
            end(job, 'Failed', { error: job.problem ?? unusable, durationMs: 0 });
            continue;
          }
          const { status, result } = await runOne(
            registered.transport,
            validate,
            job,
            job.device,
            options,
            patiently,
            signals,
          );
          const unreachable = options.hooks?.[job.type]?.unreachable;
          if (status === 'Unreachable' && unreachable) await patiently(() => unreachable(job));
          end(job, status, result);
        }
      };
      await Promise.all(Array.from({ length: width }, lane));
    }),
  )
    .catch((error: unknown) => {
      failure = error;
    })
    .finally(() => signals.dispose());
  // What ended is written even when a lane failed; a lane's bug is thrown after.
  await retrying;
  while (
    !tryFlush() &&
    (await wait(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })))
  ) {}
  if (failure) throw failure;
  if (locked) {
    // The commands ran: show every result that could not be written, then fail plainly.
    for (const { job, status, result } of ending.splice(0))
      report(job, status, {
        ...result,
        error: [result.error, 'not recorded: the database stayed locked'].filter(Boolean).join('; '),
      });
    throw new RmmError(
      'locked',
      'another writer kept the write lock on the database past every retry; the results above were not recorded',
      {
        details: [
          'their rows stay Running until the next runner ends them Failed ("may or may not have completed"); rows not started are left to it as well',
        ],
        cause: locked,
      },
    );
  }
  return summary;
}

async function runOne(
  transport: Transport,
  validate: ValidateFunction,
  job: Job,
  device: DeviceRecord,
  options: RunOptions,
  patiently: Patiently,
  signals: JobSignals,
): Promise<{ status: ActionStatus; result: ActionResult }> {
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  const prepared = prepareTarget(device, transport.name, validate);
  if ('problem' in prepared)
    return { status: 'Failed', result: { error: prepared.problem, durationMs: took() } };
  const { target, credentialRef, user } = prepared;
  let execResult: ExecResult;
  const { signal, release } = signals.open();
  try {
    const secret =
      credentialRef === undefined ? undefined : resolveSecret(credentialRef, options.credentials);
    const session = await connectWithRetry(transport, target, {
      ...(user === undefined ? {} : { user }),
      ...(secret ? { secret } : {}),
      connectTimeoutMs: job.connectTimeoutMs,
      signal,
    });
    try {
      execResult = await session.exec(job.command, {
        timeoutMs: job.timeoutMs,
        signal,
        ...(job.stdin !== undefined ? { stdin: job.stdin } : {}),
      });
    } finally {
      await session.close().catch(() => {});
    }
  } catch (error) {
    const status: ActionStatus = options.signal.aborted
      ? 'Cancelled'
      : isTransportError(error)
        ? error.code === 'timed-out'
          ? 'TimedOut'
          : error.code === 'unreachable'
            ? 'Unreachable'
            : 'Failed'
        : 'Failed';
    return { status, result: { error: (error as Error).message, durationMs: took() } };
  } finally {
    release();
  }
  const stdout = capOutput(execResult.stdout);
  // PowerShell reports errors as CLIXML when its output is redirected: keep what a console shows.
  const stderr = capOutput(
    job.powershell ? Buffer.from(decodeClixml(execResult.stderr.toString('utf8'))) : execResult.stderr,
  );
  const result: ActionResult = {
    exitCode: execResult.exitCode,
    stdout: stdout.text,
    stderr: stderr.text,
    durationMs: took(),
  };
  if (stdout.dropped) result.stdoutDropped = stdout.dropped;
  if (stderr.dropped) result.stderrDropped = stderr.dropped;
  if (execResult.exitCode !== 0) return { status: 'Failed', result };
  const hook = options.hooks?.[job.type]?.succeeded;
  if (!hook) return { status: 'Succeeded', result };
  try {
    // The hook stores what the command found (inventory): kept through a locked database too.
    const note = await patiently(() => hook(job, execResult));
    if (note === LOCKED) return { status: 'Succeeded', result };
    result.note = note;
    return { status: 'Succeeded', result };
  } catch (error) {
    return { status: 'Failed', result: { ...result, error: (error as Error).message } };
  }
}

async function connectWithRetry(
  transport: Transport,
  target: DeviceTarget,
  connect: Parameters<Transport['connect']>[1],
) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await transport.connect(target, connect);
    } catch (error) {
      // Only a connection that failed before anything was sent is safe to try again.
      if (
        !isTransportError(error) ||
        !error.retryable ||
        attempt >= CONNECT_ATTEMPTS - 1 ||
        connect.signal?.aborted
      )
        throw error;
      const backoff = 250 * 2 ** attempt * (0.5 + Math.random());
      await sleep(backoff, undefined, connect.signal ? { signal: connect.signal } : {}).catch(() => {});
    }
  }
}

/** A TransportError from any copy of the class (plugins get rmm's, but duck-typing costs nothing). */
function isTransportError(error: unknown): error is TransportError {
  return (
    error instanceof TransportError ||
    (error instanceof Error && error.name === 'TransportError' && 'code' in error)
  );
}
