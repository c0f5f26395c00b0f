import type { DeviceRecord } from '../actions/targets.js';
import type { ExecResult } from '../plugin/api.js';
import { type CollectorWarning, parseCollectorOutput } from './collector-output.js';
import type { CollectorRequest } from './collector-request.js';
import { collectorInvocation } from './collector-scripts.js';
import { type ConsoleMeasures, tcpConnectMs } from './console-metrics.js';
import type { MetricSpec } from './metric-spec.js';
import type { Sample } from './samples.js';
import type { PoolOutcome, Reachability, SessionPool } from './session-pool.js';

/**
 * One collection round: every listed device asked once for what its monitors need, on its pooled
 * session, in a sliding window; the console's own measures beside it. A device never stalls or
 * fails the round: each has its deadline, and whatever happens to it becomes its reachability and
 * warnings. No storage, no evaluation: the caller (the service) does both with the result.
 */
export interface CollectTarget {
  device: DeviceRecord;
  /** What the device's collector is asked (collector-request.ts); empty: only reach the device. */
  request: CollectorRequest;
  measures: ConsoleMeasures;
}

export interface CollectRoundOptions {
  pool: SessionPool;
  specs: readonly MetricSpec[];
  /** The console's clock (epoch ms): samples and reachability carry its times. */
  now: () => number;
  /** Devices in progress at once (the pool bounds each transport by its batch size too). */
  concurrency: number;
  /** Per device, from the start of its turn: waiting for the session, connecting and collecting. */
  deviceTimeoutMs: number;
  /** Per TCP probe (tcp.connect_ms); default the lesser of deviceTimeoutMs and 5 s. */
  tcpTimeoutMs?: number;
  /** Stops the round: devices not started are left out (listed in notTried). */
  signal?: AbortSignal;
  /** The per-device deadline; AbortSignal.timeout unless a test brings its own. */
  deadline?: (ms: number) => AbortSignal;
}

export interface RoundResult {
  samples: Sample[];
  warnings: CollectorWarning[];
  /** One per device tried; a device not tried has none (it neither answered nor failed to). */
  reachability: Reachability[];
  notTried: string[];
}

export async function collectRound(
  targets: readonly CollectTarget[],
  options: CollectRoundOptions,
): Promise<RoundResult> {
  const result: RoundResult = { samples: [], warnings: [], reachability: [], notTried: [] };
  let next = 0;
  const lane = async () => {
    while (next < targets.length) {
      const target = targets[next++] as CollectTarget;
      if (options.signal?.aborted) {
        result.notTried.push(target.device.name);
        continue;
      }
      await collectDevice(target, options, result);
    }
  };
  const width = Math.max(1, Math.min(options.concurrency, targets.length));
  await Promise.all(Array.from({ length: width }, lane));
  return result;
}

async function collectDevice(
  { device, request, measures }: CollectTarget,
  options: CollectRoundOptions,
  result: RoundResult,
): Promise<void> {
  const deadline = (options.deadline ?? AbortSignal.timeout)(options.deviceTimeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  const warn = (message: string) => result.warnings.push({ device: device.name, message });
  const [outcome] = await Promise.all([
    options.pool.use(device, signal, async (session, signal): Promise<ExecResult | undefined> => {
      if (request.metrics.length === 0) return undefined;
      const invocation = await collectorInvocation(device.os, request);
      return session.exec(invocation.command, {
        signal,
        ...(invocation.stdin === undefined ? {} : { stdin: invocation.stdin }),
      });
    }),
    probePorts(device, measures.ports, options, result),
  ]);
  if (outcome.kind === 'not-tried') {
    if (options.signal?.aborted) result.notTried.push(device.name);
    else warn(`not collected: ${outcome.reason}`);
    return;
  }
  result.reachability.push(outcome.reachability);
  if (measures.reachable && options.specs.some((spec) => spec.name === 'device.reachable'))
    result.samples.push({
      device: device.name,
      metric: 'device.reachable',
      labels: {},
      value: outcome.reachability.reachable ? 1 : 0,
      at: outcome.reachability.at,
    });
  readOutcome(device.name, request, outcome, options, result);
}

function readOutcome(
  device: string,
  request: CollectorRequest,
  outcome: Exclude<PoolOutcome<ExecResult | undefined>, { kind: 'not-tried' }>,
  options: CollectRoundOptions,
  result: RoundResult,
): void {
  if (outcome.kind === 'failed')
    result.warnings.push({ device, message: `the collector did not answer: ${outcome.error.message}` });
  if (outcome.kind !== 'done' || outcome.value === undefined) return;
  const { exitCode, stdout } = outcome.value;
  // A collector that exited non-zero may still have printed what it read: keep that, and say so.
  if (exitCode !== 0) result.warnings.push({ device, message: `the collector exited ${exitCode}` });
  const parsed = parseCollectorOutput(stdout, { device, at: options.now(), specs: options.specs, request });
  result.samples.push(...parsed.samples);
  result.warnings.push(...parsed.warnings);
}

async function probePorts(
  device: DeviceRecord,
  ports: readonly number[],
  options: CollectRoundOptions,
  result: RoundResult,
): Promise<void> {
  if (ports.length === 0 || !options.specs.some((spec) => spec.name === 'tcp.connect_ms')) return;
  const timeoutMs = options.tcpTimeoutMs ?? Math.min(options.deviceTimeoutMs, 5000);
  await Promise.all(
    ports.map(async (port) => {
      const probe = await tcpConnectMs(device.host, port, timeoutMs);
      if ('error' in probe)
        result.warnings.push({
          device: device.name,
          message: `tcp.connect_ms{port=${port}}: no connection to ${device.host}:${port}: ${probe.error}`,
        });
      else
        result.samples.push({
          device: device.name,
          metric: 'tcp.connect_ms',
          labels: { port: String(port) },
          value: probe.ms,
          at: options.now(),
        });
    }),
  );
}
