import type { EffectiveMonitor } from '../monitoring/monitors.js';
import type { SeriesReader } from './covered-series.js';
import { definitionOf, identityOf, type MonitorChange } from './monitor-changes.js';
import { type ReplayWindow, replayDevice } from './replay-device.js';

/**
 * Threshold replay in `rmm plan`: each monitor the plan adds or changes, replayed over the stored
 * samples of the window on the devices where it changes, once as it is and once as planned. Advice
 * for the reviewer: it only reads, and apply never runs it (docs/monitoring.md#threshold-replay).
 */

/** Alerts a definition would have fired over the window, and on how many devices. */
export interface Fired {
  alerts: number;
  devices: number;
}

export interface MonitorReplay {
  policy: string;
  monitor: string;
  added: boolean;
  /** Devices replayed: those where the plan adds or changes the monitor. */
  devices: number;
  /** As planned. */
  planned: Fired;
  /** As it runs now on those devices; null for an added monitor. */
  now: Fired | null;
}

export interface PlanReplay {
  since: number;
  until: number;
  /** Whether Metrics holds any sample in the window at all. */
  samplesStored: boolean;
  /** Samples read, from the series the replayed monitors cover only. */
  samplesRead: number;
  monitors: MonitorReplay[];
}

export function replayPlan(
  reader: SeriesReader,
  changes: readonly MonitorChange[],
  window: ReplayWindow,
): PlanReplay {
  const results = changes.map((c) => ({
    change: c,
    planned: { alerts: 0, devices: 0 },
    now: c.added ? null : { alerts: 0, devices: 0 },
  }));
  const samplesStored = changes.length > 0 && reader.anyIn(window);
  if (samplesStored) {
    const byIdentity = new Map(results.map((r) => [identityOf(r.change), r]));
    for (const [device, { was, will }] of perDevice(changes)) {
      const metrics = new Set([...was, ...will].map((m) => m.metric));
      // A change of severity alone fires the same alerts: such a device is replayed once.
      const same = was.length === will.length && was.every((m, i) => sameFiring(m, will[i]));
      const sets = same ? [will] : [will, was];
      const fired = replayDevice(device, sets, reader.seriesOf(device, metrics, window), window);
      const [plannedFires, nowFires = plannedFires] = fired as [Map<string, number>, Map<string, number>?];
      for (const m of will) tally(byIdentity.get(identityOf(m))?.planned, plannedFires.get(identityOf(m)));
      for (const m of was)
        tally(byIdentity.get(identityOf(m))?.now ?? undefined, nowFires.get(identityOf(m)));
    }
  }
  return {
    since: window.since,
    until: window.until,
    samplesStored,
    samplesRead: reader.rows,
    monitors: results.map((r) => ({
      policy: r.change.policy,
      monitor: r.change.name,
      added: r.change.added,
      devices: r.change.devices.length,
      planned: r.planned,
      now: r.now,
    })),
  };
}

/** Per device, the changed monitors as they run now and as planned, in the same order. */
function perDevice(
  changes: readonly MonitorChange[],
): Map<string, { was: EffectiveMonitor[]; will: EffectiveMonitor[] }> {
  const out = new Map<string, { was: EffectiveMonitor[]; will: EffectiveMonitor[] }>();
  for (const change of changes)
    for (const d of change.devices) {
      let entry = out.get(d.device);
      if (entry === undefined) {
        entry = { was: [], will: [] };
        out.set(d.device, entry);
      }
      entry.will.push(d.after);
      if (d.before !== null) entry.was.push(d.before);
    }
  return out;
}

function sameFiring(a: EffectiveMonitor, b: EffectiveMonitor | undefined): boolean {
  return b !== undefined && definitionOf({ ...a, severity: b.severity }) === definitionOf(b);
}

function tally(into: Fired | undefined, fires: number | undefined): void {
  if (into === undefined || fires === undefined || fires === 0) return;
  into.alerts += fires;
  into.devices++;
}
