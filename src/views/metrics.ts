import type { Sample } from '../monitoring/samples.js';
import { canonicalLabels } from '../monitoring/samples.js';
import type { SeriesSummary } from '../monitoring/series-summary.js';
import { sparkline } from './sparkline.js';
import { textTable } from './table.js';

/** rmm metrics: one line per series with a sparkline, or the raw samples as JSON. */

/** How many slices of the window a sparkline has. */
export const SPARK_WIDTH = 24;

export function seriesTable(series: readonly SeriesSummary[], unitOf: (metric: string) => string): string {
  return textTable<SeriesSummary>(
    [
      ['SERIES', (s) => seriesName(s.metric, s.labels)],
      ['UNIT', (s) => unitOf(s.metric)],
      ['LAST', (s) => number(s.last)],
      ['MIN', (s) => number(s.min)],
      ['AVG', (s) => number(s.avg)],
      ['MAX', (s) => number(s.max)],
      ['SAMPLES', (s) => String(s.count)],
      ['TREND', (s) => sparkline(s.buckets)],
    ],
    series,
  );
}

/** metric{name=value,...}, as the catalogue and the alerts write a series. */
export function seriesName(metric: string, labels: Readonly<Record<string, string>>): string {
  const text = canonicalLabels(labels);
  return text === '' ? metric : `${metric}{${text}}`;
}

/** A value in at most 4 significant decimals, without a trailing zero; whole numbers as they are. */
function number(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const fixed = Math.abs(value) >= 100 ? value.toFixed(1) : value.toFixed(2);
  return fixed.replace(/\.?0+$/, '');
}

export function samplesJson(device: string, since: number, samples: readonly Sample[], truncated: boolean) {
  return {
    device,
    since: new Date(since).toISOString(),
    truncated,
    samples: samples.map((s) => ({
      metric: s.metric,
      labels: s.labels,
      value: s.value,
      at: new Date(s.at).toISOString(),
    })),
  };
}
