import { clearedMessage, fireMessage, fireTitle, isOffline, removedMessage, sourceOf } from './alert-text.js';
import type { AlertKey, OpenAlert, Transition } from './alert-transitions.js';
import type { HotTier } from './hot-tier.js';
import { conditionHolds, type EffectiveMonitor, matchesInstance } from './monitors.js';
import { canonicalLabels } from './samples.js';

/**
 * Monitors evaluated over the hot tier, as Prometheus evaluates alerting rules: a function of the
 * previous state, the samples and `now`, with no clock and no I/O, so a test replays any timeline.
 * Each sample of a series is folded once, in time order, into the state of every monitor that
 * watches it (docs/monitoring.md#evaluation gives the rules). The state is mutated in place: a
 * copy per cycle of 500,000 series would cost more than the evaluation.
 */

interface PairState {
  phase: 'pending' | 'firing';
  /** Pending: when the condition started holding. Firing: when it fired (NaN if rebuilt at start). */
  since: number;
  lastAt: number;
  lastValue: number | null;
  clearedAt: number | undefined;
  /** The monitor's metric and match; undefined for an alert rebuilt at start until its monitor is seen. */
  definition: string | undefined;
}

/** A series with samples this far apart did not show its condition holding in between. */
export const GAP_INTERVALS = 2;

export interface EvaluatorStart {
  /** Samples at or before this time (those the hot tier was warmed with) were judged by a previous run. */
  startedAt: number;
  /** The alerts the store holds open: they are firing, so they never fire twice. */
  openAlerts?: readonly AlertKey[];
}

export class Evaluator {
  /** Only series whose monitors are pending or firing have an entry: device -> policy\0monitor\0instance. */
  private readonly states = new Map<string, Map<string, PairState>>();
  /** By hot-tier series id: the time of the last sample folded. */
  private folded = new Float64Array(0);
  private readonly startedAt: number;

  constructor(start: EvaluatorStart) {
    this.startedAt = start.startedAt;
    for (const key of start.openAlerts ?? []) {
      this.pairsOf(key.device).set(pairKey(key.policy, key.monitor, key.instance), {
        phase: 'firing',
        since: Number.NaN,
        lastAt: start.startedAt,
        lastValue: null,
        clearedAt: undefined,
        definition: undefined,
      });
    }
  }

  /**
   * One evaluation: every sample newer than the last one folded and not after `now`, of every series
   * a device's monitors watch. `monitors` maps each device to its effective monitors (the
   * device-offline one included); an open alert whose monitor no longer applies is resolved.
   */
  evaluate(
    hot: HotTier,
    monitors: ReadonlyMap<string, readonly EffectiveMonitor[]>,
    now: number,
  ): Transition[] {
    const out: Transition[] = [];
    for (const [device, deviceMonitors] of monitors) {
      for (const id of hot.seriesOf(device)) {
        let end = hot.count(id);
        while (end > 0 && hot.timeAt(id, end - 1) > now) end--;
        const folded = this.foldedUntil(id);
        if (end === 0 || hot.timeAt(id, end - 1) <= folded) continue;
        let start = end - 1;
        while (start > 0 && hot.timeAt(id, start - 1) > folded) start--;
        const metric = hot.metricOf(id);
        for (const monitor of deviceMonitors) {
          if (monitor.metric === metric && matchesInstance(monitor.match, hot.labelsOf(id)))
            this.fold(device, monitor, hot, id, start, end, out);
        }
        this.folded[id] = hot.timeAt(id, end - 1);
      }
    }
    this.resolveUnwatched(monitors, now, out);
    return out;
  }

  /**
   * On start, the samples the hot tier was warmed with (at or before `until`) rebuild the pending
   * holds they show, so a restart keeps the `for` progress of series with stored samples. Nothing is
   * fired or resolved from them (the previous run judged them): an alert open in the store is left
   * firing, and a hold that completed then stays pending, to fire at the next sample that holds.
   */
  replay(hot: HotTier, monitors: ReadonlyMap<string, readonly EffectiveMonitor[]>, until: number): void {
    for (const [device, deviceMonitors] of monitors) {
      for (const id of hot.seriesOf(device)) {
        let end = hot.count(id);
        while (end > 0 && hot.timeAt(id, end - 1) > until) end--;
        if (end === 0) continue;
        const metric = hot.metricOf(id);
        for (const monitor of deviceMonitors) {
          if (monitor.metric === metric && matchesInstance(monitor.match, hot.labelsOf(id)))
            this.fold(device, monitor, hot, id, 0, end, undefined);
        }
        this.foldedUntil(id);
        this.folded[id] = Math.max(this.folded[id] as number, hot.timeAt(id, end - 1));
      }
    }
  }

  /**
   * Forgets alerts someone else closed (an operator resolved the row): the evaluator no longer holds
   * them firing, so a condition that holds on starts a new hold and raises a new alert.
   */
  dismiss(keys: readonly AlertKey[]): void {
    for (const key of keys) this.forget(key.device, pairKey(key.policy, key.monitor, key.instance));
  }

  openAlerts(): OpenAlert[] {
    const open: OpenAlert[] = [];
    for (const [device, pairs] of this.states) {
      for (const [key, state] of pairs) {
        if (state.phase !== 'firing') continue;
        const [policy, monitor, instance] = splitPairKey(key);
        open.push({
          key: { device, policy, monitor, instance },
          firedAt: Number.isNaN(state.since) ? undefined : state.since,
          clearedAt: state.clearedAt,
        });
      }
    }
    return open;
  }

  private fold(
    device: string,
    monitor: EffectiveMonitor,
    hot: HotTier,
    id: number,
    start: number,
    end: number,
    /** Undefined when replaying: holds are rebuilt, nothing fires or resolves. */
    out: Transition[] | undefined,
  ): void {
    const pairs = this.states.get(device);
    // Most series have no state: their key is only built when one is needed.
    let key = pairs === undefined ? undefined : pairKey(monitor.policy, monitor.name, hot.instanceOf(id));
    const before = key === undefined ? undefined : pairs?.get(key);
    if (out === undefined && before?.phase === 'firing') return;
    if (before !== undefined && before.definition === undefined) before.definition = definitionOf(monitor);
    let state = before;
    for (let i = start; i < end; i++) {
      const at = hot.timeAt(id, i);
      const value = hot.valueAt(id, i);
      const holds = conditionHolds(monitor.op, value, monitor.threshold);
      if (state?.phase === 'firing') {
        if (holds) state.clearedAt = undefined;
        else if (monitor.autoResolve) {
          out?.push(resolve(device, monitor, hot.instanceOf(id), 'cleared', value, at));
          state = undefined;
          continue;
        } else state.clearedAt ??= at;
        state.lastAt = at;
        state.lastValue = value;
        continue;
      }
      if (!holds) {
        state = undefined;
        continue;
      }
      if (state === undefined || at - state.lastAt > GAP_INTERVALS * monitor.intervalMs) {
        state = {
          phase: 'pending',
          since: at,
          lastAt: at,
          lastValue: value,
          clearedAt: undefined,
          definition: definitionOf(monitor),
        };
      }
      state.lastAt = at;
      state.lastValue = value;
      if (at - state.since >= monitor.forMs && out !== undefined) {
        out.push(fire(device, monitor, hot.instanceOf(id), value, state.since, at));
        state.phase = 'firing';
        state.since = at;
      }
    }
    if (state === before) return;
    key ??= pairKey(monitor.policy, monitor.name, hot.instanceOf(id));
    if (state === undefined) this.forget(device, key);
    else this.pairsOf(device).set(key, state);
  }

  /** Pending and open alerts whose monitor no longer applies to their device: dropped and resolved. */
  private resolveUnwatched(
    monitors: ReadonlyMap<string, readonly EffectiveMonitor[]>,
    now: number,
    out: Transition[],
  ): void {
    for (const [device, pairs] of this.states) {
      const deviceMonitors = monitors.get(device) ?? [];
      for (const [key, state] of pairs) {
        const [policy, name, instance] = splitPairKey(key);
        const monitor = deviceMonitors.find((m) => m.policy === policy && m.name === name);
        if (monitor !== undefined && state.definition === undefined) {
          // Rebuilt at start: its metric is unknown, but its instance must still match.
          if (matchesInstance(monitor.match, parseInstance(instance)))
            state.definition = definitionOf(monitor);
        }
        if (monitor !== undefined && state.definition === definitionOf(monitor)) continue;
        if (state.phase === 'firing') {
          out.push({
            kind: 'resolve',
            key: { device, policy, monitor: name, instance },
            reason: 'monitor-removed',
            message: removedMessage(device, policy, name),
            value: state.lastValue,
            at: now,
          });
        }
        this.forget(device, key);
      }
    }
  }

  private foldedUntil(id: number): number {
    if (id >= this.folded.length) {
      const next = new Float64Array(Math.max(1024, (id + 1) * 2)).fill(this.startedAt);
      next.set(this.folded);
      this.folded = next;
    }
    // A freed id is reused only for a series whose samples are all newer than the old one's last.
    return this.folded[id] as number;
  }

  private pairsOf(device: string): Map<string, PairState> {
    let pairs = this.states.get(device);
    if (pairs === undefined) {
      pairs = new Map();
      this.states.set(device, pairs);
    }
    return pairs;
  }

  private forget(device: string, key: string): void {
    const pairs = this.states.get(device);
    pairs?.delete(key);
    if (pairs?.size === 0) this.states.delete(device);
  }
}

function fire(
  device: string,
  monitor: EffectiveMonitor,
  instance: string,
  value: number,
  since: number,
  at: number,
): Transition {
  return {
    kind: 'fire',
    key: { device, policy: monitor.policy, monitor: monitor.name, instance },
    alertType: isOffline(monitor) ? 'device-offline' : 'monitor',
    severity: monitor.severity,
    title: fireTitle(device, monitor, instance),
    message: fireMessage(device, monitor, instance, value, since),
    source: sourceOf(monitor),
    metric: monitor.metric,
    op: monitor.op,
    threshold: monitor.threshold,
    value,
    at,
  };
}

function resolve(
  device: string,
  monitor: EffectiveMonitor,
  instance: string,
  reason: 'cleared',
  value: number,
  at: number,
): Transition {
  return {
    kind: 'resolve',
    key: { device, policy: monitor.policy, monitor: monitor.name, instance },
    reason,
    message: clearedMessage(device, monitor, instance, value),
    value,
    at,
  };
}

function pairKey(policy: string, monitor: string, instance: string): string {
  return `${policy}\u0000${monitor}\u0000${instance}`;
}

function splitPairKey(key: string): [string, string, string] {
  const first = key.indexOf('\u0000');
  const second = key.indexOf('\u0000', first + 1);
  return [key.slice(0, first), key.slice(first + 1, second), key.slice(second + 1)];
}

/** What a monitor watches; when it changes, the alerts it raised are about something else. */
function definitionOf(monitor: EffectiveMonitor): string {
  return `${monitor.metric}\u0000${canonicalLabels(monitor.match)}`;
}

/** Canonical labels back to pairs (label names never hold `=` or `,`; a value may hold `=`). */
function parseInstance(instance: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (instance === '') return labels;
  for (const pair of instance.split(',')) {
    const at = pair.indexOf('=');
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}
