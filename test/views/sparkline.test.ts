import { describe, expect, it } from 'vitest';
import type { Sample } from '../../src/monitoring/samples.js';
import { summarizeSeries } from '../../src/monitoring/series-summary.js';
import { sparkline } from '../../src/views/sparkline.js';

describe('sparkline', () => {
  it.each([
    [[0, 1, 2, 3, 4, 5, 6, 7], '▁▂▃▄▅▆▇█'],
    [[5, null, 10], '▁ █'],
    [[3, 3, 3], '▄▄▄'],
    [[null, null], '  '],
    [[], ''],
  ])('%j -> %j', (values, expected) => {
    expect(sparkline(values)).toBe(expected);
  });
});

describe('summarizeSeries', () => {
  it('groups by series, averages each slice of the window, leaves empty slices null', () => {
    const at = (minute: number) => minute * 60_000;
    const samples: Sample[] = [
      { device: 'd', metric: 'cpu.percent', labels: {}, value: 10, at: at(0) },
      { device: 'd', metric: 'cpu.percent', labels: {}, value: 30, at: at(1) },
      { device: 'd', metric: 'disk.used_percent', labels: { mount: '/' }, value: 50, at: at(9) },
      { device: 'd', metric: 'cpu.percent', labels: {}, value: 90, at: at(7) },
    ];
    const [cpu, disk] = summarizeSeries(samples, { from: at(0), to: at(10), buckets: 5 });
    expect(cpu).toEqual({
      metric: 'cpu.percent',
      labels: {},
      count: 3,
      last: 90,
      lastAt: at(7),
      min: 10,
      avg: (10 + 30 + 90) / 3,
      max: 90,
      buckets: [20, null, null, 90, null],
    });
    expect(disk?.buckets).toEqual([null, null, null, null, 50]);
  });
});
