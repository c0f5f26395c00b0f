/**
 * A metric sample and the key of the series it belongs to (a series is device, metric, labels).
 * Shared by collection, storage, the hot tier and evaluation.
 */
export interface Sample {
  /** Devices.DeviceId */
  device: string;
  metric: string;
  labels: Readonly<Record<string, string>>;
  value: number;
  /** epoch ms */
  at: number;
}

/** The label pairs sorted by name as `k=v`, joined by `,`; empty for none. */
export function canonicalLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${labels[name]}`)
    .join(',');
}

export function seriesKey(sample: Pick<Sample, 'device' | 'metric' | 'labels'>): string {
  return `${sample.device}\u0000${sample.metric}\u0000${canonicalLabels(sample.labels)}`;
}
