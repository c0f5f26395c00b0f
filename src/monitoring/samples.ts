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

/** The label pairs sorted by name as `k=v`, joined by `,`; empty for none. */
export function canonicalLabels(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels);
  // Most series have no label or one: a key is built per sample, so those skip the sort and join.
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]}=${labels[names[0] as string]}`;
  names.sort();
  return names.map((name) => `${name}=${labels[name]}`).join(',');
}

/** A series is (device, metric, labels): this is its key everywhere in rmm. */
export function seriesKey(device: string, metric: string, labels: Readonly<Record<string, string>>): string {
  return `${device}\u0000${metric}\u0000${canonicalLabels(labels)}`;
}

/** The series key of a sample. */
export function sampleSeriesKey(sample: Pick<Sample, 'device' | 'metric' | 'labels'>): string {
  return seriesKey(sample.device, sample.metric, sample.labels);
}
