/**
 * A metric sample as collectors return it and the store, hot tier and evaluator share it. A series
 * is (device, metric, labels); its key and the Metrics.Labels column both hold the labels in
 * canonical form, so a series read back from SQLite has the key it had in memory.
 */
export interface Sample {
  /** Devices.DeviceId. */
  device: string;
  metric: string;
  /** Instance labels (`{mount: '/'}`); empty for a metric without instances. */
  labels: Readonly<Record<string, string>>;
  value: number;
  /** Epoch milliseconds. */
  at: number;
}

/** The label pairs sorted by name as `k=v`, joined by `,`; '' for none. */
export function canonicalLabels(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  names.sort();
  return names.map((name) => `${name}=${labels[name]}`).join(',');
}

/** The key of a series: device, metric and canonical labels joined by NUL (which none of them holds). */
export function seriesKey(series: Pick<Sample, 'device' | 'metric' | 'labels'>): string {
  return `${series.device}\u0000${series.metric}\u0000${canonicalLabels(series.labels)}`;
}
