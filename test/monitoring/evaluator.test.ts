import { describe, expect, it } from 'vitest';
import type { Transition } from '../../src/monitoring/alert-transitions.js';
import { Evaluator } from '../../src/monitoring/evaluator.js';
import { HotTier } from '../../src/monitoring/hot-tier.js';
import { deviceOfflineMonitor, type EffectiveMonitor } from '../../src/monitoring/monitors.js';

/**
 * Each rule of docs/monitoring.md#evaluation on an injected timeline: samples are added at the times
 * given and evaluation runs at the `now` given; nothing sleeps.
 */
const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 1, 12);

const diskHigh: EffectiveMonitor = {
  policy: 'base',
  name: 'disk-root',
  metric: 'disk.used_percent',
  match: { mount: '/' },
  op: '>',
  threshold: 90,
  forMs: 3 * MIN,
  intervalMs: MIN,
  severity: 'Warning',
  autoResolve: true,
};

/** A timeline: `step(minute, value)` adds a disk sample at that minute and evaluates then. */
function timeline(monitors: readonly EffectiveMonitor[], start = new Evaluator({ startedAt: T0 - 1 })) {
  const hot = new HotTier();
  let evaluator = start;
  const byDevice = new Map([['web-01', monitors]]);
  const step = (minute: number, value?: number, metric = 'disk.used_percent'): Transition[] => {
    const now = T0 + minute * MIN;
    if (value !== undefined)
      hot.add(
        [
          {
            device: 'web-01',
            metric,
            labels: metric === 'disk.used_percent' ? { mount: '/' } : {},
            value,
            at: now,
          },
        ],
        now,
      );
    hot.evict(now);
    return evaluator.evaluate(hot, byDevice, now);
  };
  const kinds = (transitions: Transition[]) => transitions.map((t) => t.kind);
  return {
    hot,
    step,
    kinds,
    byDevice,
    /** A new evaluator over the same hot tier; `replay` as rmm serve does with a tier warmed from Metrics. */
    restart: (now: number, options: { replay?: boolean; open?: boolean } = {}) => {
      const open = options.open === false ? [] : evaluator.openAlerts().map((a) => a.key);
      evaluator = new Evaluator({ startedAt: now, openAlerts: open });
      if (options.replay) evaluator.replay(hot, byDevice, now);
    },
    open: () => evaluator.openAlerts(),
  };
}

describe('Evaluator', () => {
  it('fires once when the condition held for `for`, with the value and the threshold, then resolves', () => {
    const t = timeline([diskHigh]);
    expect(t.step(0, 95)).toEqual([]); // pending since minute 0
    expect(t.step(1, 96)).toEqual([]);
    expect(t.step(2, 97)).toEqual([]);
    const [fired] = t.step(3, 98);
    expect(fired).toEqual({
      kind: 'fire',
      key: { device: 'web-01', policy: 'base', monitor: 'disk-root', instance: 'mount=/' },
      alertType: 'monitor',
      severity: 'Warning',
      title: 'disk-root on web-01: disk.used_percent{mount=/} > 90',
      message:
        'disk.used_percent{mount=/} is 98, > 90 since 2025-01-01T12:00:00.000Z (policy base, monitor disk-root)',
      source: 'base/disk-root',
      metric: 'disk.used_percent',
      op: '>',
      threshold: 90,
      value: 98,
      at: T0 + 3 * MIN,
    });
    expect(t.step(4, 99)).toEqual([]); // firing: no second fire
    expect(t.step(5, 40)).toEqual([
      {
        kind: 'resolve',
        key: { device: 'web-01', policy: 'base', monitor: 'disk-root', instance: 'mount=/' },
        reason: 'cleared',
        message: 'disk.used_percent{mount=/} is 40, no longer > 90',
        value: 40,
        at: T0 + 5 * MIN,
      },
    ]);
    expect(t.open()).toEqual([]);
  });

  it('a condition that clears while pending starts its hold again from the next true sample', () => {
    const t = timeline([diskHigh]);
    for (const [minute, value] of [
      [0, 95],
      [1, 95],
      [2, 50],
      [3, 95],
      [4, 95],
      [5, 95],
    ] as const)
      expect(t.step(minute, value)).toEqual([]);
    expect(t.kinds(t.step(6, 95))).toEqual(['fire']);
  });

  it('with `for` 0 the first true sample fires', () => {
    const t = timeline([{ ...diskHigh, forMs: 0 }]);
    expect(t.kinds(t.step(0, 91))).toEqual(['fire']);
  });

  it('without autoResolve a cleared condition is reported, not resolved, and never fires twice', () => {
    const t = timeline([{ ...diskHigh, forMs: 0, autoResolve: false }]);
    expect(t.kinds(t.step(0, 95))).toEqual(['fire']);
    expect(t.step(1, 10)).toEqual([]);
    expect(t.open()).toEqual([
      { key: expect.objectContaining({ monitor: 'disk-root' }), firedAt: T0, clearedAt: T0 + MIN },
    ]);
    expect(t.step(2, 95)).toEqual([]);
    expect(t.open()[0]?.clearedAt).toBeUndefined();
  });

  it('a series with no new samples neither fires nor resolves, however long it is silent', () => {
    const t = timeline([diskHigh]);
    t.step(0, 95);
    for (let minute = 1; minute <= 30; minute++) expect(t.step(minute)).toEqual([]);
    expect(t.open()).toEqual([]);
    const f = timeline([{ ...diskHigh, forMs: 0 }]);
    expect(f.kinds(f.step(0, 95))).toEqual(['fire']);
    for (let minute = 1; minute <= 30; minute++) expect(f.step(minute)).toEqual([]);
    expect(f.open()).toHaveLength(1);
  });

  it('samples more than 2 intervals apart break the hold: the gap is not known to have held', () => {
    const t = timeline([diskHigh]);
    expect(t.step(0, 95)).toEqual([]);
    expect(t.step(1, 95)).toEqual([]);
    expect(t.step(4, 95)).toEqual([]); // 3 min after the last sample: pending again since minute 4
    expect(t.step(6, 95)).toEqual([]); // 2 min apart is no gap
    expect(t.kinds(t.step(7, 95))).toEqual(['fire']);
  });

  it('folds every sample once, however often or seldom it evaluates', () => {
    const t = timeline([diskHigh]);
    const now = T0 + 4 * MIN;
    t.hot.add(
      [0, 1, 2, 3, 4].map((m) => ({
        device: 'web-01',
        metric: 'disk.used_percent',
        labels: { mount: '/' },
        value: m === 4 ? 10 : 95,
        at: T0 + m * MIN,
      })),
      now,
    );
    // One evaluation sees the hold complete at minute 3 and the clear at minute 4.
    expect(t.kinds(t.step(4))).toEqual(['fire', 'resolve']);
    expect(t.step(4)).toEqual([]);
  });

  it('leaves samples after `now` for a later evaluation', () => {
    const t = timeline([{ ...diskHigh, forMs: 0 }]);
    t.hot.add(
      [{ device: 'web-01', metric: 'disk.used_percent', labels: { mount: '/' }, value: 95, at: T0 + MIN }],
      T0,
    );
    expect(t.step(0)).toEqual([]);
    expect(t.kinds(t.step(1))).toEqual(['fire']);
  });

  it('watches only the instances its match names; an empty match watches them all', () => {
    const hot = new HotTier();
    const sample = (mount: string) => ({
      device: 'web-01',
      metric: 'disk.used_percent',
      labels: { mount },
      value: 95,
      at: T0,
    });
    hot.add([sample('/'), sample('/data')], T0);
    const run = (match: Record<string, string>) =>
      new Evaluator({ startedAt: T0 - 1 })
        .evaluate(hot, new Map([['web-01', [{ ...diskHigh, match, forMs: 0 }]]]), T0)
        .map((t) => t.key.instance);
    expect(run({ mount: '/' })).toEqual(['mount=/']);
    expect(run({})).toEqual(['mount=/', 'mount=/data']);
    expect(run({ mount: '/boot' })).toEqual([]);
  });

  describe('device offline', () => {
    const offline = deviceOfflineMonitor({ afterMs: 5 * MIN, intervalMs: MIN });
    it('raises ONE alert when the device stays unreachable past its threshold, resolved when it answers', () => {
      const t = timeline([offline]);
      expect(t.step(0, 1, 'device.reachable')).toEqual([]);
      for (let minute = 1; minute <= 5; minute++) expect(t.step(minute, 0, 'device.reachable')).toEqual([]);
      const [fired] = t.step(6, 0, 'device.reachable');
      expect(fired).toMatchObject({
        kind: 'fire',
        alertType: 'device-offline',
        key: { device: 'web-01', policy: '', monitor: 'device-offline', instance: '' },
        source: 'rmm/device-offline',
        severity: 'Critical',
        title: 'web-01 is offline',
        message: 'web-01 has not answered since 2025-01-01T12:01:00.000Z (offline after 300 s)',
      });
      expect(t.step(7, 0, 'device.reachable')).toEqual([]);
      expect(t.step(8, 1, 'device.reachable')).toEqual([
        expect.objectContaining({ kind: 'resolve', reason: 'cleared', message: 'web-01 answered again' }),
      ]);
    });
  });

  describe('restart', () => {
    it('an open alert rebuilt from the store is firing: no second fire, and a clear resolves it', () => {
      const t = timeline([{ ...diskHigh, forMs: 0 }]);
      expect(t.kinds(t.step(0, 95))).toEqual(['fire']);
      t.restart(T0 + MIN);
      expect(t.open()).toEqual([
        {
          key: { device: 'web-01', policy: 'base', monitor: 'disk-root', instance: 'mount=/' },
          firedAt: undefined,
          clearedAt: undefined,
        },
      ]);
      expect(t.step(2, 96)).toEqual([]);
      expect(t.kinds(t.step(3, 10))).toEqual(['resolve']);
    });

    it('samples the hot tier was warmed with were judged before the restart and are not folded again', () => {
      const t = timeline([{ ...diskHigh, forMs: 0 }]);
      t.step(0, 95); // fired
      t.step(1, 10); // resolved
      t.restart(T0 + 1.5 * MIN);
      expect(t.step(1.5)).toEqual([]); // minute 0's sample would fire a duplicate
      expect(t.kinds(t.step(2, 95))).toEqual(['fire']);
    });

    it('replayed warm samples keep a pending hold: it fires when `for` is reached, counted from before the restart', () => {
      const t = timeline([diskHigh]); // for: 3m
      t.step(0, 95);
      t.step(1, 95);
      t.restart(T0 + 1.5 * MIN, { replay: true });
      expect(t.step(2, 95)).toEqual([]);
      expect(t.kinds(t.step(3, 95))).toEqual(['fire']);
    });

    it('replay fires and resolves nothing: an open alert stays open, a completed hold fires at the next true sample', () => {
      const open = timeline([{ ...diskHigh, forMs: 0 }]);
      open.step(0, 95); // fired; the store holds it open
      open.hot.add(
        [{ device: 'web-01', metric: 'disk.used_percent', labels: { mount: '/' }, value: 10, at: T0 + MIN }],
        T0 + MIN,
      );
      open.restart(T0 + 1.5 * MIN, { replay: true });
      expect(open.open()).toHaveLength(1);
      expect(open.kinds(open.step(2, 10))).toEqual(['resolve']);

      // Fired before the restart, and resolved by an operator since: the store holds nothing open.
      const closed = timeline([{ ...diskHigh, forMs: 0 }]);
      closed.step(0, 95);
      closed.restart(T0 + 0.5 * MIN, { replay: true, open: false });
      expect(closed.open()).toEqual([]);
      expect(closed.kinds(closed.step(1, 95))).toEqual(['fire']);
    });
  });

  describe('a monitor that no longer applies', () => {
    it('resolves its open alert as monitor-removed, and drops a pending one silently', () => {
      const t = timeline([
        { ...diskHigh, forMs: 0 },
        { ...diskHigh, name: 'slow' },
      ]);
      expect(t.kinds(t.step(0, 95))).toEqual(['fire']); // disk-root fires, slow is pending
      t.byDevice.set('web-01', []);
      expect(t.step(1)).toEqual([
        {
          kind: 'resolve',
          key: { device: 'web-01', policy: 'base', monitor: 'disk-root', instance: 'mount=/' },
          reason: 'monitor-removed',
          message: 'monitor disk-root of policy base no longer applies to web-01 (removed or changed)',
          value: 95,
          at: T0 + MIN,
        },
      ]);
      expect(t.open()).toEqual([]);
      t.byDevice.set('web-01', [{ ...diskHigh, name: 'slow' }]);
      expect(t.step(2, 95)).toEqual([]); // slow's hold starts again: its pending state was dropped
    });

    it('resolves it when the monitor now watches another metric or instance, not when only its threshold moved', () => {
      const t = timeline([{ ...diskHigh, forMs: 0 }]);
      t.step(0, 95);
      t.byDevice.set('web-01', [{ ...diskHigh, forMs: 0, threshold: 80 }]);
      expect(t.step(1)).toEqual([]);
      t.byDevice.set('web-01', [{ ...diskHigh, forMs: 0, match: { mount: '/data' } }]);
      expect(t.kinds(t.step(2))).toEqual(['resolve']);
    });

    it('after a restart, resolves a rebuilt alert whose instance the monitor no longer matches', () => {
      const t = timeline([{ ...diskHigh, forMs: 0 }]);
      t.step(0, 95);
      t.restart(T0 + MIN);
      t.byDevice.set('web-01', [{ ...diskHigh, forMs: 0, match: { mount: '/data' } }]);
      expect(t.step(2)).toEqual([expect.objectContaining({ kind: 'resolve', reason: 'monitor-removed' })]);
    });
  });
});
