import { Evaluator } from '../monitoring/evaluator.js';
import { HotTier } from '../monitoring/hot-tier.js';
import { type EffectiveMonitor, matchesInstance } from '../monitoring/monitors.js';
import type { Sample } from '../monitoring/samples.js';
import { identityOf } from './monitor-changes.js';

/**
 * A device's stored samples replayed through the evaluator itself (the one rmm serve runs), once
 * per set of monitors: how many alerts each monitor would have fired over the window. Pure: the
 * samples and the window are inputs (the timeline), nothing reads a clock or the database.
 */

/** One stored series, its samples read only if some monitor watches it. */
export interface ReplaySeries {
  metric: string;
  labels: Readonly<Record<string, string>>;
  /** [epoch ms, value], oldest first. */
  samples: () => Iterable<readonly [number, number]>;
}

export interface ReplayWindow {
  /** Epoch ms, inclusive. */
  since: number;
  /** Epoch ms, exclusive. */
  until: number;
}

/**
 * Samples handed to the evaluator at a time: the hot tier keeps at most 64 per series, so every
 * sample is folded before the ring could drop it.
 */
const CHUNK = 48;

/**
 * For each set of monitors, the fires per monitor (by identityOf). Each series gets evaluators of
 * its own (an alert key is per series, so no state crosses series), fed in time order as serve
 * feeds them; the hot tier holds one series at a time.
 */
export function replayDevice(
  device: string,
  monitorSets: readonly (readonly EffectiveMonitor[])[],
  series: Iterable<ReplaySeries>,
  window: ReplayWindow,
): Map<string, number>[] {
  const fired = monitorSets.map(() => new Map<string, number>());
  // A window as long as the replay, so nothing is evicted while a series is fed.
  const hot = new HotTier(window.until - window.since + 1);
  for (const s of series) {
    const watching = monitorSets.map((set) =>
      set.filter((m) => m.metric === s.metric && matchesInstance(m.match, s.labels)),
    );
    if (watching.every((w) => w.length === 0)) continue;
    const runs = watching.map((w) => ({
      evaluator: new Evaluator({ startedAt: window.since - 1 }),
      monitors: new Map([[device, w]]),
    }));
    let chunk: Sample[] = [];
    let last = window.since;
    const flush = () => {
      hot.add(chunk, last);
      chunk = [];
      runs.forEach((run, i) => {
        if (run.monitors.get(device)?.length === 0) return;
        for (const t of run.evaluator.evaluate(hot, run.monitors, last))
          if (t.kind === 'fire')
            add(fired[i] as Map<string, number>, identityOf({ policy: t.key.policy, name: t.key.monitor }));
      });
    };
    for (const [at, value] of s.samples()) {
      if (at < window.since || at >= window.until) continue;
      chunk.push({ device, metric: s.metric, labels: s.labels, value, at });
      last = at;
      if (chunk.length === CHUNK) flush();
    }
    flush();
    // Past the window's end: the series is dropped and its slot reused by the next one.
    hot.evict(last + hot.windowMs + 1);
  }
  return fired;
}

function add(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
