import { describe, expect, it } from 'vitest';
import { HOT_WINDOW_MS, HotTier } from '../../src/monitoring/hot-tier.js';
import { canonicalLabels, type Sample, seriesKey } from '../../src/monitoring/samples.js';

const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 1);
const disk = (at: number, value: number, mount = '/'): Sample => ({
  device: 'web-01',
  metric: 'disk.used_percent',
  labels: { mount },
  value,
  at,
});
const ROOT = seriesKey('web-01', 'disk.used_percent', { mount: '/' });

describe('series keys', () => {
  it('sorts label pairs by name, so any order of the same labels names one series', () => {
    expect(canonicalLabels({ b: '2', a: '1' })).toBe('a=1,b=2');
    expect(canonicalLabels({})).toBe('');
    expect(seriesKey('d', 'm', { b: '2', a: '1' })).toBe('d\u0000m\u0000a=1,b=2');
  });
});

describe('HotTier', () => {
  it('keeps samples per series in time order, and gives the window and the latest', () => {
    const hot = new HotTier();
    const result = hot.add([disk(T0, 50), disk(T0 + MIN, 60), disk(T0 + MIN, 70, '/data')], T0 + MIN);
    expect(result).toEqual({ added: 3, refused: 0 });
    expect(hot.window(ROOT, T0)).toEqual([
      { at: T0, value: 50 },
      { at: T0 + MIN, value: 60 },
    ]);
    expect(hot.window(ROOT, T0 + 1)).toEqual([{ at: T0 + MIN, value: 60 }]);
    expect(hot.latest(seriesKey('web-01', 'disk.used_percent', { mount: '/data' }))).toEqual({
      at: T0 + MIN,
      value: 70,
    });
    expect(hot.latest('nothing')).toBeUndefined();
    expect(hot.seriesCount).toBe(2);
  });

  it('refuses NaN, infinities, samples older than the window and samples not newer than the latest', () => {
    const hot = new HotTier();
    const now = T0 + 10 * MIN;
    const result = hot.add(
      [
        disk(now, Number.NaN),
        disk(now, Number.POSITIVE_INFINITY),
        disk(Number.NaN, 1),
        disk(now - HOT_WINDOW_MS - 1, 1),
        disk(now - MIN, 10),
        disk(now - MIN, 11),
        disk(now - 2 * MIN, 12),
      ],
      now,
    );
    expect(result).toEqual({ added: 1, refused: 6 });
    expect(hot.window(ROOT, 0)).toEqual([{ at: now - MIN, value: 10 }]);
  });

  it('evicts samples older than 5 minutes against the clock it is given, and series left empty', () => {
    const hot = new HotTier();
    hot.add([disk(T0, 1), disk(T0 + 4 * MIN, 2)], T0 + 4 * MIN);
    hot.evict(T0 + 5 * MIN);
    expect(hot.window(ROOT, 0)).toHaveLength(2); // exactly 5 minutes old is still inside
    hot.evict(T0 + 5 * MIN + 1);
    expect(hot.window(ROOT, 0)).toEqual([{ at: T0 + 4 * MIN, value: 2 }]);
    hot.evict(T0 + 10 * MIN);
    expect(hot.seriesCount).toBe(0);
    expect(hot.seriesOf('web-01')).toEqual([]);
    // The freed series comes back empty, not with the old samples.
    hot.add([disk(T0 + 10 * MIN, 3)], T0 + 10 * MIN);
    expect(hot.window(ROOT, 0)).toEqual([{ at: T0 + 10 * MIN, value: 3 }]);
  });

  it('grows a ring past 8 samples in order, and past 64 drops the oldest', () => {
    const hot = new HotTier();
    const samples = Array.from({ length: 100 }, (_, i) => disk(T0 + i * 1000, i));
    hot.add(samples.slice(0, 20), T0 + 20_000);
    expect(hot.window(ROOT, 0).map((s) => s.value)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    hot.add(samples.slice(20), T0 + 100_000);
    expect(hot.window(ROOT, 0).map((s) => s.value)).toEqual(Array.from({ length: 64 }, (_, i) => i + 36));
  });

  it('is warmed from stored rows in any order, keeping those inside the window', () => {
    const hot = new HotTier();
    const now = T0 + 10 * MIN;
    const rows = [disk(now - MIN, 2), disk(now - 20 * MIN, 0), disk(now - 2 * MIN, 1), disk(now, 3)];
    expect(hot.warm(rows, now)).toEqual({ added: 3, refused: 1 });
    expect(hot.window(ROOT, 0).map((s) => s.value)).toEqual([1, 2, 3]);
  });

  it('reads a device series by id without allocating keys (the evaluator path)', () => {
    const hot = new HotTier();
    hot.add([disk(T0, 5), disk(T0, 6, '/data')], T0);
    const ids = hot.seriesOf('web-01');
    expect(ids.map((id) => hot.instanceOf(id))).toEqual(['mount=/', 'mount=/data']);
    const id = ids[0] as number;
    expect([hot.metricOf(id), hot.labelsOf(id), hot.count(id), hot.valueAt(id, 0)]).toEqual([
      'disk.used_percent',
      { mount: '/' },
      1,
      5,
    ]);
  });
});
