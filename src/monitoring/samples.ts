/** One measured value of one metric instance on one device (shared shape of issue 12's modules). */
export interface Sample {
  device: string /* Devices.DeviceId */;
  metric: string;
  labels: Readonly<Record<string, string>>;
  value: number;
  at: number /* epoch ms */;
}

/** The label pairs sorted by name as `k=v`, joined by `,`; empty for none. */
export function canonicalLabels(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  names.sort();
  return names.map((name) => `${name}=${labels[name]}`).join(',');
}

/** A series is (device, metric, labels): this is its key everywhere in rmm. */
export function seriesKey(device: string, metric: string, labels: Readonly<Record<string, string>>): string {
  return `${device}\u0000${metric}\u0000${canonicalLabels(labels)}`;
}
