import type { DeviceRecord } from '../actions/targets.js';
import { type CollectTarget, collectRound } from '../monitoring/collect-round.js';
import { collectorRequest } from '../monitoring/collector-request.js';
import { consoleMeasures } from '../monitoring/console-metrics.js';
import { Evaluator } from '../monitoring/evaluator.js';
import { type HeartbeatDevice, heartbeatReadings } from '../monitoring/heartbeats.js';
import { HotTier } from '../monitoring/hot-tier.js';
import type { MetricSpec } from '../monitoring/metric-spec.js';
import { deviceOfflineMonitor, type EffectiveMonitor } from '../monitoring/monitors.js';
import type { Sample } from '../monitoring/samples.js';
import type { Reachability, SessionPool } from '../monitoring/session-pool.js';
import type { AlertSink, SampleSink } from './monitoring-sinks.js';

/**
 * The monitoring step of the service: one cycle collects what every device's monitors need (one
 * round trip per device, on kept-open sessions), adds the samples to the hot tier, evaluates, and
 * hands samples, alert transitions and reachability to the sinks. The service calls run() at the
 * monitors' pace; a cycle never throws for what a device did (that becomes its report).
 */
export interface CycleReport {
  startedAt: number;
  durationMs: number;
  devices: number;
  reached: number;
  unreachable: number;
  /** Left out when the service stopped mid-cycle. */
  notTried: number;
  samples: number;
  warnings: number;
  fired: number;
  resolved: number;
}

export interface MonitoringCycle {
  run(now: number, signal: AbortSignal): Promise<CycleReport>;
  /** How long from one cycle's start to the next (the shortest interval of the monitors). */
  intervalMs(): number;
  close(): Promise<void>;
}

/** What to monitor this cycle: the devices and each one's effective monitors (from the fleet). */
export interface MonitorPlan {
  devices: readonly DeviceRecord[];
  monitors: ReadonlyMap<string, readonly EffectiveMonitor[]>;
  /** Devices with no session, watched by their queue's heartbeat: only their device-offline alert. */
  heartbeats?: readonly HeartbeatDevice[];
}

export interface CollectingCycleOptions {
  pool: SessionPool;
  specs: readonly MetricSpec[];
  plan: () => MonitorPlan;
  samples: SampleSink;
  alerts: AlertSink;
  /** Devices.Status and LastSeen (monitoring-sinks.ts deviceHealth). */
  reachability?: (reachability: readonly Reachability[]) => void;
  now: () => number;
  /** When no monitor says: the pace of reachability and the offline alert. */
  defaultIntervalMs?: number;
  /** A device unreachable this long raises its device-offline alert. */
  offlineAfterMs?: number;
  concurrency?: number;
  deviceTimeoutMs?: number;
  /**
   * The stored samples since a time (the Metrics table), read once on the first cycle to warm the hot
   * tier, so a restart keeps the `for` progress of series with stored samples.
   */
  warm?: (since: number, visit: (sample: Sample) => void) => void;
  /** Each collector warning, for the log. */
  onWarning?: (device: string, message: string) => void;
  deadline?: (ms: number) => AbortSignal;
}

export const DEFAULT_CYCLE_INTERVAL_MS = 60_000;
export const DEFAULT_OFFLINE_AFTER_MS = 5 * 60_000;

export class CollectingCycle implements MonitoringCycle {
  readonly hot = new HotTier();
  #evaluator: Evaluator | undefined;
  #interval: number;
  readonly #o: CollectingCycleOptions;

  constructor(options: CollectingCycleOptions) {
    this.#o = options;
    this.#interval = options.defaultIntervalMs ?? DEFAULT_CYCLE_INTERVAL_MS;
  }

  intervalMs(): number {
    return this.#interval;
  }

  async run(now: number, signal: AbortSignal): Promise<CycleReport> {
    const o = this.#o;
    const plan = o.plan();
    const base = o.defaultIntervalMs ?? DEFAULT_CYCLE_INTERVAL_MS;
    const monitors = new Map<string, EffectiveMonitor[]>();
    const targets: CollectTarget[] = [];
    let interval = Number.POSITIVE_INFINITY;
    const offline = deviceOfflineMonitor({
      afterMs: o.offlineAfterMs ?? DEFAULT_OFFLINE_AFTER_MS,
      intervalMs: base,
    });
    const heartbeats = plan.heartbeats ?? [];
    for (const h of heartbeats) monitors.set(h.device, [offline]);
    for (const device of plan.devices) {
      const declared = plan.monitors.get(device.name) ?? [];
      for (const m of declared) interval = Math.min(interval, m.intervalMs);
      const own = [...declared, offline];
      monitors.set(device.name, own);
      const request = collectorRequest(own, o.specs);
      const measures = consoleMeasures(own);
      for (const w of [...request.warnings, ...measures.warnings]) o.onWarning?.(device.name, w);
      targets.push({ device, request: request.request, measures: measures.measures });
    }
    this.#interval = Number.isFinite(interval) ? Math.min(interval, base) : base;
    const evaluator = this.#evaluator ?? (await this.#start(now, monitors));
    const round = await collectRound(targets, {
      pool: o.pool,
      specs: o.specs,
      now: o.now,
      concurrency: o.concurrency ?? 200,
      deviceTimeoutMs: o.deviceTimeoutMs ?? 30_000,
      signal,
      ...(o.deadline ? { deadline: o.deadline } : {}),
    });
    const at = o.now();
    const beats = heartbeatReadings(heartbeats, at);
    round.samples.push(...beats.samples);
    round.reachability.push(...beats.stale);
    this.hot.add(round.samples, at);
    // A stopped cycle saw only some devices: judging the others' silence is for the next run.
    const closed = (await o.alerts.closedElsewhere?.()) ?? [];
    if (closed.length > 0) evaluator.dismiss(closed);
    const transitions = signal.aborted ? [] : evaluator.evaluate(this.hot, monitors, at);
    await o.samples.write(round.samples);
    await o.alerts.apply(transitions, at);
    o.reachability?.(round.reachability);
    for (const w of round.warnings) o.onWarning?.(w.device, w.message);
    this.hot.evict(at);
    await o.pool.closeIdle();
    const reached =
      round.reachability.filter((r) => r.reachable).length + heartbeats.length - beats.stale.length;
    return {
      startedAt: now,
      durationMs: at - now,
      devices: targets.length + heartbeats.length,
      reached,
      unreachable: round.reachability.length + heartbeats.length - beats.stale.length - reached,
      notTried: round.notTried.length,
      samples: round.samples.length,
      warnings: round.warnings.length,
      fired: transitions.filter((t) => t.kind === 'fire').length,
      resolved: transitions.filter((t) => t.kind === 'resolve').length,
    };
  }

  /**
   * The evaluator, built on the first cycle from the alerts the store holds open (they never fire
   * twice), over a hot tier warmed from the stored samples of the last window (their pending holds
   * rebuilt, nothing fired from them).
   */
  async #start(now: number, monitors: ReadonlyMap<string, readonly EffectiveMonitor[]>): Promise<Evaluator> {
    const evaluator = new Evaluator({ startedAt: now, openAlerts: await this.#o.alerts.open() });
    if (this.#o.warm) {
      // Streamed in time order (forEachSince): 5 minutes of a large fleet is millions of rows.
      const one: Sample[] = [];
      this.#o.warm(now - this.hot.windowMs, (sample) => {
        one[0] = sample;
        this.hot.add(one, now);
      });
      evaluator.replay(this.hot, monitors, now);
    }
    this.#evaluator = evaluator;
    return evaluator;
  }

  async close(): Promise<void> {
    await this.#o.pool.close();
  }
}
