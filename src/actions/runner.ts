import { setTimeout as sleep } from 'node:timers/promises';
import type { ValidateFunction } from 'ajv';
import { type DeviceTarget, type ExecResult, type Transport, TransportError } from '../plugin/api.js';
import { createAjv } from '../resources/ajv.js';
import type { TransportRegistry } from '../transports/registry.js';
import { resolveSecret } from './secret.js';
import { type ActionResult, type ActionStatus, type ActionStore, capOutput } from './store.js';
import type { DeviceRecord } from './targets.js';

/**
 * Runs queued actions through their devices' transports: per transport a sliding window (as one
 * action ends the next starts, never lockstep batches), at most the transport's batch size and
 * --concurrency wide. A connection that fails before anything was sent is retried with backoff and
 * jitter; nothing else is. The abort signal (Ctrl-C) cancels what has not started and stops what
 * runs; every action ends in a final status, none is left Running.
 */
export interface Job {
  id: string;
  device: DeviceRecord;
  command: string;
}

export interface RunOptions {
  registry: TransportRegistry;
  store: ActionStore;
  concurrency: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  signal: AbortSignal;
  onEvent: (event: ActionEvent) => void;
}

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
}

export type Summary = Record<ActionStatus, number>;

const RETRIES = 2;
const DEFAULT_TRANSPORT = 'ssh';

export async function runActions(jobs: readonly Job[], options: RunOptions): Promise<Summary> {
  const summary: Summary = {
    Pending: 0,
    Running: 0,
    Succeeded: 0,
    Failed: 0,
    TimedOut: 0,
    Unreachable: 0,
    Cancelled: 0,
  };
  const byTransport = new Map<string, Job[]>();
  for (const job of jobs) {
    const type = String(job.device.transport.type ?? DEFAULT_TRANSPORT);
    byTransport.set(type, [...(byTransport.get(type) ?? []), job]);
  }
  const end = (job: Job, status: ActionStatus, result: ActionResult) => {
    options.store.finish(job.id, job.device.name, 'exec', status, result);
    summary[status]++;
    const event: ActionEvent = {
      type: 'action',
      id: job.id,
      device: job.device.name,
      status,
      durationMs: result.durationMs,
    };
    if (result.exitCode !== undefined) event.exitCode = result.exitCode;
    if (result.error !== undefined) event.error = result.error;
    if (result.stdout !== undefined) event.stdout = result.stdout;
    if (result.stderr !== undefined) event.stderr = result.stderr;
    options.onEvent(event);
  };
  await Promise.all(
    [...byTransport].map(async ([type, queue]) => {
      const registered = options.registry.transports.get(type);
      if (!registered) {
        for (const job of queue)
          end(job, 'Failed', {
            error: `no transport "${type}" is installed (see rmm transports)`,
            durationMs: 0,
          });
        return;
      }
      const { transport } = registered;
      const validate = createAjv({ useDefaults: true }).compile(transport.optionsSchema);
      const width = Math.max(1, Math.min(transport.batchSize, options.concurrency, queue.length));
      let next = 0;
      const lane = async () => {
        while (next < queue.length) {
          const job = queue[next++] as Job;
          if (options.signal.aborted) {
            end(job, 'Cancelled', { error: 'cancelled before it started', durationMs: 0 });
            continue;
          }
          const { status, result } = await runOne(transport, validate, job, options);
          end(job, status, result);
        }
      };
      await Promise.all(Array.from({ length: width }, lane));
    }),
  );
  return summary;
}

async function runOne(
  transport: Transport,
  validate: ValidateFunction,
  job: Job,
  options: RunOptions,
): Promise<{ status: ActionStatus; result: ActionResult }> {
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  options.store.running(job.id);
  options.onEvent({ type: 'action', id: job.id, device: job.device.name, status: 'Running' });
  const { type: _type, credentialRef, user, ...rest } = job.device.transport;
  const transportOptions = structuredClone(rest);
  if (!validate(transportOptions)) {
    const why = (validate.errors ?? [])
      .map((e) => `${e.instancePath || 'transport'} ${e.message}`)
      .join('; ');
    return {
      status: 'Failed',
      result: {
        error: `spec.transport does not fit the ${transport.name} transport: ${why}`,
        durationMs: took(),
      },
    };
  }
  const target: DeviceTarget = {
    name: job.device.name,
    host: job.device.host,
    os: job.device.os,
    options: transportOptions,
  };
  let execResult: ExecResult;
  try {
    const secret = typeof credentialRef === 'string' ? resolveSecret(credentialRef) : undefined;
    const session = await connectWithRetry(transport, target, {
      ...(typeof user === 'string' ? { user } : {}),
      ...(secret ? { secret } : {}),
      connectTimeoutMs: options.connectTimeoutMs,
      signal: options.signal,
    });
    try {
      execResult = await session.exec(job.command, { timeoutMs: options.timeoutMs, signal: options.signal });
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
  }
  const stdout = capOutput(execResult.stdout);
  const stderr = capOutput(execResult.stderr);
  const result: ActionResult = {
    exitCode: execResult.exitCode,
    stdout: stdout.text,
    stderr: stderr.text,
    durationMs: took(),
  };
  if (stdout.dropped) result.stdoutDropped = stdout.dropped;
  if (stderr.dropped) result.stderrDropped = stderr.dropped;
  return { status: execResult.exitCode === 0 ? 'Succeeded' : 'Failed', result };
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
      if (!isTransportError(error) || !error.retryable || attempt >= RETRIES || connect.signal?.aborted)
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
