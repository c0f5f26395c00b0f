/**
 * The metric catalogue: every metric rmm knows, as data. Validation reads it (a monitor's metric,
 * its match labels, its threshold), and so will the collectors (what to ask a device for), the
 * evaluator (which samples to accept) and `rmm metrics` (units). docs/monitoring.md shows this table
 * and a test holds the two equal. The check cache is salted with rmm's compiled code, so a changed
 * catalogue is never read from a result an older one produced (cache-salt.ts).
 */

/** Who measures a metric: a collector of that OS family on the device, or the console itself. */
export type Source = 'linux' | 'macos' | 'windows' | 'console';
export const SOURCES: readonly Source[] = ['linux', 'macos', 'windows', 'console'];

/** What a sample's value means, which bounds it: a value out of range is refused, not stored. */
export type ValueKind = 'percent' | 'bytes' | 'boolean' | 'seconds' | 'milliseconds' | 'count' | 'load';

export interface ValueRange {
  /** Stored in Metrics.Unit. */
  unit: string;
  min: number;
  max?: number;
  integer: boolean;
  /** How docs and messages say the range. */
  words: string;
}

export const VALUE_KINDS: Record<ValueKind, ValueRange> = {
  percent: { unit: '%', min: 0, max: 100, integer: false, words: 'a percent from 0 to 100' },
  bytes: { unit: 'B', min: 0, integer: true, words: 'a whole number of bytes, 0 or more' },
  boolean: { unit: 'bool', min: 0, max: 1, integer: true, words: '0 (no) or 1 (yes)' },
  seconds: { unit: 's', min: 0, integer: false, words: 'seconds, 0 or more' },
  milliseconds: { unit: 'ms', min: 0, integer: false, words: 'milliseconds, 0 or more' },
  count: { unit: 'count', min: 0, integer: true, words: 'a whole number, 0 or more' },
  load: { unit: 'load', min: 0, integer: false, words: 'a load average, 0 or more' },
};

/** An instance label: what tells two series of one metric apart on one device. */
export interface Label {
  name: string;
  description: string;
  /**
   * A monitor must name the instance: the instances are open-ended (every service, process or
   * port), so a collector asks only for the ones monitors name. An optional label left out of
   * `match` means every instance the device reports (every mounted filesystem).
   */
  required: boolean;
  /** The form of a value, when it has one, and how to say it. */
  pattern?: RegExp;
  form?: string;
}

export interface Metric {
  name: string;
  description: string;
  value: ValueKind;
  labels: readonly Label[];
  sources: readonly Source[];
}

const MOUNT: Label = {
  name: 'mount',
  description: 'the mount point (/, /var) or the Windows drive (C:)',
  required: false,
};
const SERVICE: Label = {
  name: 'name',
  description: 'the service: a systemd unit, a launchd label or a Windows service name',
  required: true,
};
const PROCESS: Label = {
  name: 'name',
  description: 'the process name, as ps or Get-Process shows it',
  required: true,
};
const PORT: Label = {
  name: 'port',
  description: 'the TCP port the console connects to, on the device address',
  required: true,
  pattern: /^([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$/,
  form: 'a TCP port from 1 to 65535',
};

const DEVICE: readonly Source[] = ['linux', 'macos', 'windows'];

export const METRICS: readonly Metric[] = [
  { name: 'cpu.percent', description: 'CPU busy, all cores', value: 'percent', labels: [], sources: DEVICE },
  {
    name: 'memory.used_percent',
    description: 'physical memory in use (not counting caches the OS can drop)',
    value: 'percent',
    labels: [],
    sources: DEVICE,
  },
  {
    name: 'disk.used_percent',
    description: 'space used on a filesystem',
    value: 'percent',
    labels: [MOUNT],
    sources: DEVICE,
  },
  {
    name: 'disk.free_bytes',
    description: 'space free on a filesystem, for an unprivileged user',
    value: 'bytes',
    labels: [MOUNT],
    sources: DEVICE,
  },
  {
    name: 'disk.inodes_used_percent',
    description: 'file slots (inodes) used on a filesystem (NTFS has no such limit)',
    value: 'percent',
    labels: [MOUNT],
    sources: ['linux', 'macos'],
  },
  {
    name: 'load.1m',
    description: 'run-queue load average over one minute (Windows has none)',
    value: 'load',
    labels: [],
    sources: ['linux', 'macos'],
  },
  {
    name: 'uptime.seconds',
    description: 'time since the last boot',
    value: 'seconds',
    labels: [],
    sources: DEVICE,
  },
  {
    name: 'service.running',
    description: 'whether a service is running',
    value: 'boolean',
    labels: [SERVICE],
    sources: DEVICE,
  },
  {
    name: 'process.count',
    description: 'how many processes of that name run',
    value: 'count',
    labels: [PROCESS],
    sources: DEVICE,
  },
  {
    name: 'reboot.pending',
    description:
      'whether the OS waits for a reboot to finish updates (Linux: /var/run/reboot-required; Windows: the servicing and update registry keys; macOS has no such flag)',
    value: 'boolean',
    labels: [],
    sources: ['linux', 'windows'],
  },
  {
    name: 'tcp.connect_ms',
    description: 'time for the console to open a TCP connection to the device',
    value: 'milliseconds',
    labels: [PORT],
    sources: ['console'],
  },
  {
    name: 'device.reachable',
    description: 'whether the console reached the device over its transport in the last cycle',
    value: 'boolean',
    labels: [],
    sources: ['console'],
  },
];

const BY_NAME = new Map(METRICS.map((m) => [m.name, m]));

export const METRIC_NAMES: readonly string[] = METRICS.map((m) => m.name);

export function metricNamed(name: string): Metric | undefined {
  return BY_NAME.get(name);
}

/** The metrics a device of that OS family reports itself (the console measures the rest). */
export function metricsCollectedOn(source: Source): readonly Metric[] {
  return METRICS.filter((m) => m.sources.includes(source));
}

/**
 * Why a device's value cannot be a sample of the metric, or undefined when it can. Devices' answers
 * are untrusted: NaN, Infinity, fractions of a count and values out of range are refused one by one.
 */
export function sampleProblem(metric: Metric, value: number): string | undefined {
  return fitsKind(metric.value, value)
    ? undefined
    : `${metric.name} is ${VALUE_KINDS[metric.value].words}, not ${value}`;
}

/** The catalogue as collection reads it (collector requests and output). */
export function metricSpecs(): { name: string; labels: readonly string[]; kind: ValueKind }[] {
  return METRICS.map((m) => ({ name: m.name, labels: m.labels.map((l) => l.name), kind: m.value }));
}

/**
 * Why a monitor's threshold is outside what the metric can be, or undefined. A fraction is fine
 * (`process.count < 0.5` is "none"); a percent of 150 is a mistake a monitor would never show.
 */
export function thresholdProblem(metric: Metric, value: number): string | undefined {
  const range = VALUE_KINDS[metric.value];
  return inRange(range, value)
    ? undefined
    : `${metric.name} is ${range.words}, so a threshold of ${value} is out of its range`;
}

/** Whether a value can be a sample of this kind: finite, in its range, whole where it must be. */
export function fitsKind(kind: ValueKind, value: number): boolean {
  const range = VALUE_KINDS[kind];
  return inRange(range, value) && (!range.integer || Number.isInteger(value));
}

function inRange(range: ValueRange, value: number): boolean {
  return Number.isFinite(value) && value >= range.min && (range.max === undefined || value <= range.max);
}
