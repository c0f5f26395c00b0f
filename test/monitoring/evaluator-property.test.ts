import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AlertKey, alertKeyString, type Transition } from '../../src/monitoring/alert-transitions.js';
import { Evaluator } from '../../src/monitoring/evaluator.js';
import { HotTier } from '../../src/monitoring/hot-tier.js';
import { deviceOfflineMonitor, type EffectiveMonitor } from '../../src/monitoring/monitors.js';
import type { Sample } from '../../src/monitoring/samples.js';

/**
 * Random streams of samples (values around the thresholds, gaps, late and repeated times, NaN),
 * evaluations at random moments, restarts rebuilt from the open alerts, and monitors that come and
 * go, replayed through HotTier + Evaluator and through the model below. After every evaluation both
 * emitted the same transitions and hold the same open alerts.
 *
 * The model is the rules of docs/monitoring.md#evaluation over plain arrays: every sample kept in a
 * list per series, state in one map keyed by the whole alert key, no rings, interning, ids or lazily
 * built keys, so it checks the machinery that makes the evaluator fast, and the restart and removal
 * rules as they interleave.
 */

const SEC = 1000;
const MIN = 60 * SEC;
const WINDOW = 5 * MIN;
const T0 = Date.UTC(2025, 0, 1);

const POOL: EffectiveMonitor[] = [
  {
    policy: 'base',
    name: 'disk-any',
    metric: 'disk.used_percent',
    match: {},
    op: '>',
    threshold: 90,
    forMs: 2 * MIN,
    intervalMs: MIN,
    severity: 'Warning',
    autoResolve: true,
  },
  {
    policy: 'base',
    name: 'root-empty',
    metric: 'disk.used_percent',
    match: { mount: '/' },
    op: '<=',
    threshold: 10,
    forMs: 0,
    intervalMs: 30 * SEC,
    severity: 'Info',
    autoResolve: false,
  },
  {
    policy: 'busy',
    name: 'cpu',
    metric: 'cpu.percent',
    match: {},
    op: '>=',
    threshold: 80,
    forMs: MIN,
    intervalMs: MIN,
    severity: 'Critical',
    autoResolve: false,
  },
  deviceOfflineMonitor({ afterMs: 3 * MIN, intervalMs: MIN }),
];
const DEVICES = ['d1', 'd2'];
const SERIES: { metric: string; labels: Record<string, string> }[] = [
  { metric: 'disk.used_percent', labels: { mount: '/' } },
  { metric: 'disk.used_percent', labels: { mount: '/data' } },
  { metric: 'cpu.percent', labels: {} },
  { metric: 'device.reachable', labels: {} },
];
const VALUES = [0, 1, 5, 10, 50, 80, 90, 95, 100, Number.NaN];

type Step =
  | {
      kind: 'samples';
      advance: number;
      samples: { device: number; series: number; value: number; late: number }[];
    }
  | { kind: 'evaluate'; advance: number }
  | { kind: 'restart'; advance: number }
  | { kind: 'monitors'; advance: number; chosen: boolean[][] };

const advance = fc.oneof(fc.integer({ min: 5 * SEC, max: 90 * SEC }), fc.integer({ min: 0, max: 7 * MIN }));
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('samples' as const),
      advance,
      samples: fc.array(
        fc.record({
          device: fc.integer({ min: 0, max: DEVICES.length - 1 }),
          series: fc.integer({ min: 0, max: SERIES.length - 1 }),
          value: fc.constantFrom(...VALUES),
          late: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 90 * SEC })),
        }),
        { maxLength: 6 },
      ),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('evaluate' as const), advance }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), advance }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('monitors' as const),
      advance,
      chosen: fc.array(fc.array(fc.boolean(), { minLength: POOL.length, maxLength: POOL.length }), {
        minLength: DEVICES.length,
        maxLength: DEVICES.length,
      }),
    }),
  },
);

// ---- The model ----

interface ModelAlert {
  firing: boolean;
  since: number;
  lastAt: number;
  firedAt: number | undefined;
  clearedAt: number | undefined;
}

class Model {
  readonly kept = new Map<
    string,
    { device: string; metric: string; labels: Record<string, string>; at: number[]; value: number[] }
  >();
  alerts = new Map<string, ModelAlert>();
  judgedUntil = new Map<string, number>();
  startedAt = T0 - 1;

  add(sample: Sample, now: number) {
    if (!Number.isFinite(sample.value) || sample.at < now - WINDOW) return;
    const instance = Object.keys(sample.labels)
      .sort()
      .map((k) => `${k}=${sample.labels[k]}`)
      .join(',');
    const id = `${sample.device}|${sample.metric}|${instance}`;
    const series = this.kept.get(id) ?? {
      device: sample.device,
      metric: sample.metric,
      labels: { ...sample.labels },
      at: [],
      value: [],
    };
    this.kept.set(id, series);
    // A sample no newer than the latest one still in the window is refused.
    const live = series.at.filter((at) => at >= now - WINDOW);
    if (live.length > 0 && sample.at <= (live.at(-1) as number)) return;
    series.at.push(sample.at);
    series.value.push(sample.value);
  }

  evaluate(monitors: Map<string, EffectiveMonitor[]>, now: number): string[] {
    const out: string[] = [];
    for (const [id, series] of this.kept) {
      const fresh: number[] = [];
      const judged = this.judgedUntil.get(id) ?? this.startedAt;
      for (let i = 0; i < series.at.length; i++) {
        const at = series.at[i] as number;
        if (at >= now - WINDOW && at <= now && at > judged) fresh.push(i);
      }
      if (fresh.length === 0) continue;
      const watching = (monitors.get(series.device) ?? []).filter(
        (m) =>
          m.metric === series.metric && Object.entries(m.match).every(([k, v]) => series.labels[k] === v),
      );
      for (const m of watching) {
        const key = alertKeyString({
          device: series.device,
          policy: m.policy,
          monitor: m.name,
          instance: instanceOf(series.labels),
        });
        for (const i of fresh) {
          const at = series.at[i] as number;
          const holds = compare(m.op, series.value[i] as number, m.threshold);
          const alert = this.alerts.get(key);
          if (alert?.firing) {
            if (holds) alert.clearedAt = undefined;
            else if (m.autoResolve) {
              this.alerts.delete(key);
              out.push(`resolve cleared ${key}`);
            } else if (alert.clearedAt === undefined) alert.clearedAt = at;
          } else if (!holds) {
            this.alerts.delete(key);
          } else {
            const pending =
              alert !== undefined && at - alert.lastAt <= 2 * m.intervalMs
                ? alert
                : { firing: false, since: at, lastAt: at, firedAt: undefined, clearedAt: undefined };
            pending.lastAt = at;
            this.alerts.set(key, pending);
            if (at - pending.since >= m.forMs) {
              pending.firing = true;
              pending.firedAt = at;
              out.push(`fire ${key}`);
            }
          }
        }
      }
      this.judgedUntil.set(id, series.at[fresh.at(-1) as number] as number);
    }
    for (const [key, alert] of this.alerts) {
      const [device, policy, name] = key.split('\u0000');
      if ((monitors.get(device as string) ?? []).some((m) => m.policy === policy && m.name === name))
        continue;
      this.alerts.delete(key);
      if (alert.firing) out.push(`resolve monitor-removed ${key}`);
    }
    return out;
  }

  restart(now: number) {
    this.startedAt = now;
    this.judgedUntil = new Map();
    for (const [key, alert] of this.alerts) {
      if (!alert.firing) this.alerts.delete(key);
      else
        this.alerts.set(key, {
          firing: true,
          since: Number.NaN,
          lastAt: now,
          firedAt: undefined,
          clearedAt: undefined,
        });
    }
  }

  open(): string[] {
    return [...this.alerts]
      .filter(([, a]) => a.firing)
      .map(([key, a]) => `${key} fired ${a.firedAt} cleared ${a.clearedAt}`)
      .sort();
  }
}

function instanceOf(labels: Record<string, string>): string {
  return Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function compare(op: EffectiveMonitor['op'], v: number, t: number): boolean {
  return { '>': v > t, '>=': v >= t, '<': v < t, '<=': v <= t, '==': v === t, '!=': v !== t }[op];
}

const described = (t: Transition) =>
  t.kind === 'fire' ? `fire ${alertKeyString(t.key)}` : `resolve ${t.reason} ${alertKeyString(t.key)}`;

describe('Evaluator against a reference model', () => {
  it('emits the same transitions and holds the same open alerts after every step', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => {
        const hot = new HotTier();
        const model = new Model();
        let evaluator = new Evaluator({ startedAt: T0 - 1 });
        let monitors = new Map(DEVICES.map((d) => [d, [...POOL]]));
        let now = T0;
        for (const s of steps) {
          now += s.advance;
          if (s.kind === 'samples') {
            const batch = s.samples.map(
              (x): Sample => ({
                device: DEVICES[x.device] as string,
                ...(SERIES[x.series] as (typeof SERIES)[number]),
                value: SERIES[x.series]?.metric === 'device.reachable' ? Number(x.value > 50) : x.value,
                at: now - x.late,
              }),
            );
            hot.add(batch, now);
            for (const sample of batch) model.add(sample, now);
          } else if (s.kind === 'restart') {
            const open: AlertKey[] = evaluator.openAlerts().map((a) => a.key);
            evaluator = new Evaluator({ startedAt: now, openAlerts: open });
            model.restart(now);
          } else if (s.kind === 'monitors') {
            monitors = new Map(DEVICES.map((d, i) => [d, POOL.filter((_, j) => s.chosen[i]?.[j])]));
          } else {
            hot.evict(now);
            const got = evaluator.evaluate(hot, monitors, now).map(described).sort();
            expect(got).toEqual(model.evaluate(monitors, now).sort());
            const open = evaluator
              .openAlerts()
              .map((a) => `${alertKeyString(a.key)} fired ${a.firedAt} cleared ${a.clearedAt}`)
              .sort();
            expect(open).toEqual(model.open());
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
