import { describe, expect, it } from 'vitest';
import type { EffectiveMonitor } from '../../src/monitoring/monitors.js';
import { type ReplaySeries, replayDevice } from '../../src/replay/replay-device.js';

/**
 * The replay on an injected timeline: a device's samples (one a minute) through the evaluator with
 * the monitor as it is and as planned; the counts are the fires the evaluator returns.
 */
const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 1);
const DAY = 24 * 60 * MIN;
const window = { since: T0, until: T0 + DAY };

const cpu = (over: Partial<EffectiveMonitor> = {}): EffectiveMonitor => ({
  policy: 'base',
  name: 'cpu-high',
  metric: 'cpu.percent',
  match: {},
  op: '>',
  threshold: 90,
  forMs: 0,
  intervalMs: MIN,
  severity: 'Warning',
  autoResolve: true,
  ...over,
});

/** A day of one sample a minute: `value(minute)`. */
function series(metric: string, value: (minute: number) => number, labels = {}): ReplaySeries {
  return {
    metric,
    labels,
    samples: function* () {
      for (let m = 0; m < DAY / MIN; m++) yield [T0 + m * MIN, value(m)] as const;
    },
  };
}

/** cpu at 85 except bursts of `length` minutes at 95 starting every 100 minutes: 15 bursts a day. */
const bursty = (length: number) => series('cpu.percent', (m) => (m % 100 < length ? 95 : 85));

const fires = (result: Map<string, number>) => result.get('base\u0000cpu-high') ?? 0;

describe('replayDevice', () => {
  it('a lower threshold turns 0 alerts into one per burst', () => {
    const [planned, now] = replayDevice('web-01', [[cpu({ threshold: 80 })], [cpu()]], [bursty(0)], window);
    expect(fires(now as Map<string, number>)).toBe(0);
    // At 80 the condition holds all day: one alert, fired once and never cleared.
    expect(fires(planned as Map<string, number>)).toBe(1);
    const [bursts] = replayDevice('web-01', [[cpu()]], [bursty(3)], window);
    expect(fires(bursts as Map<string, number>)).toBe(15);
  });

  it('a longer for fires only on the bursts that last it', () => {
    const longAndShort = series('cpu.percent', (m) => (m % 100 < (m % 200 < 100 ? 6 : 2) ? 95 : 85));
    const [held5m, held0] = replayDevice(
      'web-01',
      [[cpu({ forMs: 5 * MIN })], [cpu()]],
      [longAndShort],
      window,
    );
    // 15 bursts (minutes 0-5 of each 100, then 0-1): 8 last six samples, i.e. 5 minutes.
    expect(fires(held0 as Map<string, number>)).toBe(15);
    expect(fires(held5m as Map<string, number>)).toBe(8);
  });

  it('reads the samples of watched series only, and only inside the window', () => {
    let read = 0;
    const counted = (s: ReplaySeries): ReplaySeries => ({
      ...s,
      samples: function* () {
        for (const sample of s.samples()) {
          read++;
          yield sample;
        }
      },
    });
    const before = [T0 - MIN, 99] as const;
    const outside: ReplaySeries = {
      metric: 'cpu.percent',
      labels: {},
      samples: function* () {
        yield before;
        yield [T0 + DAY, 99] as const;
      },
    };
    const [result] = replayDevice(
      'web-01',
      [[cpu()]],
      [counted(series('memory.used_percent', () => 99)), outside],
      window,
    );
    expect(read).toBe(0);
    expect(fires(result as Map<string, number>)).toBe(0);
  });

  it('a match narrows the replay to its instances', () => {
    const disk = cpu({ name: 'root-full', metric: 'disk.used_percent', match: { mount: '/' } });
    const [result] = replayDevice(
      'web-01',
      [[disk]],
      [
        series('disk.used_percent', () => 99, { mount: '/data' }),
        series('disk.used_percent', (m) => (m === 10 ? 99 : 50), { mount: '/' }),
      ],
      window,
    );
    expect(result?.get('base\u0000root-full')).toBe(1);
  });

  it('a gap of more than two intervals breaks a hold, as in rmm serve', () => {
    const gappy: ReplaySeries = {
      metric: 'cpu.percent',
      labels: {},
      samples: function* () {
        // Held for 2 minutes, silent for 3, held for 2 more: never 3 minutes in a row.
        for (const m of [0, 1, 2, 6, 7, 8]) yield [T0 + m * MIN, 95] as const;
      },
    };
    const [result] = replayDevice('web-01', [[cpu({ forMs: 3 * MIN })]], [gappy], window);
    expect(fires(result as Map<string, number>)).toBe(0);
  });
});
