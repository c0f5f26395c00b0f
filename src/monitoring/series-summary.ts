import { canonicalLabels, type Sample } from './samples.js';

/**
 * The samples of a window as series, for `rmm metrics`: per series the last value, min, average and
 * max, and the window cut into `buckets` equal slices of time, each the average of its samples (or
 * null when it has none), which a view draws as a sparkline. Pure: the window is given.
 */
export interface SeriesSummary {
  metric: string;
  labels: Readonly<Record<string, string>>;
  count: number;
  last: number;
  lastAt: number;
  min: number;
  avg: number;
  max: number;
  buckets: (number | null)[];
}

export function summarizeSeries(
  samples: readonly Sample[],
  window: { from: number; to: number; buckets: number },
): SeriesSummary[] {
  const span = Math.max(1, window.to - window.from);
  const bySeries = new Map<string, { summary: SeriesSummary; sums: number[]; counts: number[] }>();
  for (const sample of samples) {
    const key = `${sample.metric}\u0000${canonicalLabels(sample.labels)}`;
    let entry = bySeries.get(key);
    if (!entry) {
      entry = {
        summary: {
          metric: sample.metric,
          labels: sample.labels,
          count: 0,
          last: sample.value,
          lastAt: sample.at,
          min: sample.value,
          avg: 0,
          max: sample.value,
          buckets: [],
        },
        sums: new Array<number>(window.buckets).fill(0),
        counts: new Array<number>(window.buckets).fill(0),
      };
      bySeries.set(key, entry);
    }
    const s = entry.summary;
    s.count++;
    s.avg += sample.value;
    if (sample.value < s.min) s.min = sample.value;
    if (sample.value > s.max) s.max = sample.value;
    if (sample.at >= s.lastAt) {
      s.last = sample.value;
      s.lastAt = sample.at;
    }
    const slot = Math.floor(((sample.at - window.from) / span) * window.buckets);
    const i = Math.min(window.buckets - 1, Math.max(0, slot));
    entry.sums[i] = (entry.sums[i] ?? 0) + sample.value;
    entry.counts[i] = (entry.counts[i] ?? 0) + 1;
  }
  return [...bySeries.values()]
    .map(({ summary, sums, counts }) => ({
      ...summary,
      avg: summary.avg / summary.count,
      buckets: sums.map((sum, i) => (counts[i] ? sum / (counts[i] as number) : null)),
    }))
    .sort(
      (a, b) => compare(a.metric, b.metric) || compare(canonicalLabels(a.labels), canonicalLabels(b.labels)),
    );
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
