import type { MetricSpec } from './metric-spec.js';

/**
 * What a device's collector is asked for in one cycle, built from the device's effective monitors,
 * and the text that carries it to the device. Pure: the service decides when to ask.
 */

/** The part of an effective monitor that decides what is collected. */
export interface MonitorDemand {
  policy: string;
  name: string;
  metric: string;
  /** Empty: every instance of the metric. */
  match: Readonly<Record<string, string>>;
}

export interface WantedMetric {
  metric: string;
  /** Values of the metric's one label (a mount, a service name), sorted; 'all' for every instance. */
  instances: readonly string[] | 'all';
}

export interface CollectorRequest {
  /** Sorted by metric, so equal demands make equal requests. */
  metrics: readonly WantedMetric[];
}

/**
 * The metrics the device collectors (collectors/) know, and whether a monitor may leave the label
 * unmatched: a device lists its mounts, but "every service" or "every process" would be hundreds of
 * series nobody asked to watch, so those monitors name theirs.
 */
export const DEVICE_COLLECTED: ReadonlyMap<string, 'every-instance' | 'named-instances'> = new Map([
  ['cpu.percent', 'every-instance'],
  ['memory.used_percent', 'every-instance'],
  ['disk.used_percent', 'every-instance'],
  ['disk.free_bytes', 'every-instance'],
  ['load.1m', 'every-instance'],
  ['uptime.seconds', 'every-instance'],
  ['reboot.pending', 'every-instance'],
  ['service.running', 'named-instances'],
  ['process.count', 'named-instances'],
]);

/** Bounds what one request may ask of a device. */
export const MAX_INSTANCE_CHARS = 256;
export const MAX_INSTANCES_PER_METRIC = 256;

/**
 * The request for one device. Monitors on metrics the console measures itself (tcp.connect_ms,
 * device.reachable) are left out without a word; a monitor the collectors cannot serve is left out
 * with a warning naming it (validation refuses these earlier; this keeps the wire safe regardless).
 */
export function collectorRequest(
  monitors: readonly MonitorDemand[],
  specs: readonly MetricSpec[],
): { request: CollectorRequest; warnings: string[] } {
  const specOf = new Map(specs.map((spec) => [spec.name, spec]));
  const wanted = new Map<string, Set<string> | 'all'>();
  const warnings: string[] = [];
  for (const monitor of monitors) {
    const source = `policy ${monitor.policy}, monitor ${monitor.name}`;
    const spec = specOf.get(monitor.metric);
    const collected = DEVICE_COLLECTED.get(monitor.metric);
    if (!spec) {
      warnings.push(`${source}: metric ${monitor.metric} is not in the catalogue; not collected`);
      continue;
    }
    if (!collected) continue;
    const problem = instanceProblem(spec, monitor.match, collected);
    if (problem) {
      warnings.push(`${source}: ${problem}; not collected`);
      continue;
    }
    const label = spec.labels[0];
    const instance = label === undefined ? undefined : monitor.match[label];
    const current = wanted.get(spec.name);
    if (instance === undefined || current === 'all') {
      wanted.set(spec.name, 'all');
      continue;
    }
    const instances = current ?? new Set<string>();
    if (!instances.has(instance) && instances.size >= MAX_INSTANCES_PER_METRIC) {
      warnings.push(
        `${source}: more than ${MAX_INSTANCES_PER_METRIC} instances of ${spec.name}; not collected`,
      );
      continue;
    }
    wanted.set(spec.name, instances.add(instance));
  }
  const metrics = [...wanted.keys()].sort().map((metric): WantedMetric => {
    const instances = wanted.get(metric) as Set<string> | 'all';
    return { metric, instances: instances === 'all' ? 'all' : [...instances].sort() };
  });
  return { request: { metrics }, warnings };
}

function instanceProblem(
  spec: MetricSpec,
  match: Readonly<Record<string, string>>,
  collected: 'every-instance' | 'named-instances',
): string | undefined {
  if (spec.labels.length > 1) return `${spec.name} has more than one label, which collectors do not report`;
  const label = spec.labels[0];
  const unknown = Object.keys(match).find((name) => name !== label);
  if (unknown !== undefined) return `${spec.name} has no label ${JSON.stringify(unknown)}`;
  const value = label === undefined ? undefined : match[label];
  if (value === undefined)
    return collected === 'named-instances'
      ? `${spec.name} needs match.${label} (which one to watch)`
      : undefined;
  if (value === '' || value.length > MAX_INSTANCE_CHARS || /[\p{Cc}]/u.test(value))
    return `match.${label} must be 1 to ${MAX_INSTANCE_CHARS} characters without control characters`;
  return undefined;
}

/**
 * The request as the collector scripts read it: one wanted metric a line, `METRIC` for every
 * instance or `METRIC<TAB>INSTANCE` per instance. Instances hold no control character (see
 * instanceProblem), so a name from YAML can neither end its line nor add a field.
 */
export function requestText(request: CollectorRequest): string {
  return request.metrics
    .flatMap(({ metric, instances }) =>
      instances === 'all' ? [metric] : instances.map((instance) => `${metric}\t${instance}`),
    )
    .map((line) => `${line}\n`)
    .join('');
}
