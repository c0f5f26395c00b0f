import type { Monitor, PolicySpec } from '../resources/kinds.js';
import { effectiveInterval } from './monitor-rules.js';

/**
 * Which monitors a device runs, and from where. A device follows the policy of each of its groups
 * and of their ancestors (docs/resources.md#effective-policies). When several of those policies
 * monitor the same series (metric and match), the policy of the most specific group owns it: a
 * group's policy overrides its ancestors', as a child group refines its parent, whichever groups
 * the device lists. Two policies whose groups are not one above the other are ambiguous: validation
 * refuses that (monitoring/monitor-conflicts.ts); rows edited by hand that still hold one get both
 * policies' monitors, reported as a conflict, never a silent pick. docs/monitoring.md#effective-monitors.
 */

/** A group as the walk needs it. */
export interface GroupLink {
  parent: string | null;
  policy: string | null;
  site: string | null;
}

export interface DeviceLink {
  groups: readonly string[];
  site: string | null;
}

/** A group with a policy on one of the device's chains, and the groups from the device's own to it. */
export interface PolicyReach {
  policy: string;
  group: string;
  via: string[];
  /** The group's ancestors, nearest first: the groups whose policies this one overrides. */
  above: string[];
}

export interface ResolvedMonitor extends PolicyReach {
  monitor: Monitor;
  interval: string;
  series: string;
}

export interface MonitorConflict {
  series: string;
  /** The tied policies, each with the group it came through. */
  policies: PolicyReach[];
}

/** Longest `parent` chain walked: groups rows edited by hand may hold a cycle. */
const MAX_DEPTH = 256;

/** A series of one device, as metric{label="value",...} with labels in name order. */
export function monitoredSeries(metric: string, match: Readonly<Record<string, string>> | undefined): string {
  const labels = Object.entries(match ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return labels.length ? `${metric}{${labels.join(',')}}` : metric;
}

/**
 * Every group with a policy on the device's chains, once, with the shortest way to it. A group
 * scoped to another site gives nothing, nor does anything above it; a group not known ends its chain.
 */
export function policiesReaching(device: DeviceLink, groups: ReadonlyMap<string, GroupLink>): PolicyReach[] {
  const reached = new Map<string, PolicyReach>();
  for (const start of device.groups) {
    const chain: string[] = [];
    for (let name: string | null = start; name !== null && chain.length < MAX_DEPTH; ) {
      const group = groups.get(name);
      if (!group || chain.includes(name) || (group.site !== null && group.site !== device.site)) break;
      chain.push(name);
      name = group.parent;
    }
    chain.forEach((name, i) => {
      const policy = groups.get(name)?.policy ?? null;
      const known = reached.get(name);
      if (policy !== null && (!known || i + 1 < known.via.length))
        reached.set(name, { policy, group: name, via: chain.slice(0, i + 1), above: chain.slice(i + 1) });
    });
  }
  return [...reached.values()];
}

/**
 * Per series, the reaches that own it: those whose group is not an ancestor of another reach's group
 * monitoring the same series. More than one policy among them is a conflict.
 */
export function seriesOwners(
  reaches: readonly PolicyReach[],
  seriesOf: (policy: string) => Iterable<string>,
): Map<string, PolicyReach[]> {
  const candidates = new Map<string, PolicyReach[]>();
  for (const reach of reaches)
    for (const series of seriesOf(reach.policy)) {
      const list = candidates.get(series);
      if (list) list.push(reach);
      else candidates.set(series, [reach]);
    }
  const owners = new Map<string, PolicyReach[]>();
  for (const [series, list] of candidates) {
    const mostSpecific = list.filter((r) => !list.some((other) => other.above.includes(r.group)));
    // The same policy through two groups counts once, shown through its shortest way.
    const byPolicy = new Map<string, PolicyReach>();
    for (const reach of mostSpecific) {
      const known = byPolicy.get(reach.policy);
      if (!known || reach.via.length < known.via.length) byPolicy.set(reach.policy, reach);
    }
    owners.set(series, [...byPolicy.values()]);
  }
  return owners;
}

/** The monitors a device runs: per series, those of the owning policy; ties are conflicts. */
export function effectiveMonitors(
  device: DeviceLink,
  groups: ReadonlyMap<string, GroupLink>,
  policies: ReadonlyMap<string, PolicySpec>,
): { monitors: ResolvedMonitor[]; conflicts: MonitorConflict[] } {
  const seriesOf = (policy: string) =>
    (policies.get(policy)?.monitors ?? []).map((m) => monitoredSeries(m.metric, m.match));
  const monitors: ResolvedMonitor[] = [];
  const conflicts: MonitorConflict[] = [];
  for (const [series, owners] of seriesOwners(policiesReaching(device, groups), seriesOf)) {
    if (owners.length > 1) conflicts.push({ series, policies: owners });
    for (const reach of owners) {
      const spec = policies.get(reach.policy) as PolicySpec;
      for (const monitor of spec.monitors ?? [])
        if (monitoredSeries(monitor.metric, monitor.match) === series)
          monitors.push({ ...reach, monitor, interval: effectiveInterval(spec, monitor), series });
    }
  }
  return { monitors, conflicts };
}
