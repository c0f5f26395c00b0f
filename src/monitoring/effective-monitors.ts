import type { Monitor, PolicySpec } from '../resources/kinds.js';
import {
  applyChanges,
  type FieldOrigin,
  type OverrideClash,
  type OverrideField,
  overridesOf,
  targetKey,
} from './monitor-overrides.js';
import { effectiveInterval } from './monitor-rules.js';
import {
  type DeviceLink,
  type GroupLink,
  type Holder,
  type HolderReach,
  holderKey,
  holdersOf,
  type Level,
} from './policy-holders.js';

/**
 * Which monitors a device runs, and from where. A device follows the policies of its site, of each
 * of its groups and their ancestors, and its own (docs/resources.md#effective-policies). When
 * several of those policies monitor the same series (metric and match), the policy of the most
 * specific holder owns it: device over group, a group over its ancestors, any group over the site,
 * whichever groups the device lists. Two policies of holders neither above the other (two
 * unrelated groups, or one holder's two policies) are ambiguous: validation refuses that
 * (monitoring/policy-checks.ts); rows edited by hand that still hold one get both policies'
 * monitors, reported as a conflict, never a silent pick. Then the holders' overrides apply
 * (monitor-overrides.ts). docs/monitoring.md#effective-monitors.
 */

export type { DeviceLink, GroupLink, Holder } from './policy-holders.js';

/** A policy attached to a holder on one of the device's chains. */
export interface PolicyReach {
  policy: string;
  level: Level;
  /** The site, group or device that attaches the policy. */
  holder: string;
  /** For a group's policy: the groups from the device's own group up to the holder. */
  via: string[];
  /** Keys of the holders whose policies this one overrides (policy-holders.ts holderKey). */
  above: string[];
}

export interface ResolvedMonitor extends PolicyReach {
  /** The policy's monitor with the overrides applied. */
  monitor: Monitor;
  interval: string;
  series: string;
  /** Each field an override changed, and the holder whose override it was. */
  changed: Partial<Record<OverrideField, FieldOrigin>>;
}

export interface MonitorConflict {
  series: string;
  /** The tied policies, each with the holder it came through. */
  policies: PolicyReach[];
}

/** A series of one device, as metric{label="value",...} with labels in name order. */
export function monitoredSeries(metric: string, match: Readonly<Record<string, string>> | undefined): string {
  const labels = Object.entries(match ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return labels.length ? `${metric}{${labels.join(',')}}` : metric;
}

/** Every policy attached on the device's chains, once per holder (policy-holders.ts holdersOf). */
export function policiesReaching(
  device: DeviceLink,
  groups: ReadonlyMap<string, GroupLink>,
  sites?: ReadonlyMap<string, Holder>,
): PolicyReach[] {
  return reachesOf(holdersOf(device, groups, sites));
}

function reachesOf(holders: readonly HolderReach[]): PolicyReach[] {
  return holders.flatMap((h) =>
    h.policies.map((policy) => ({ policy, level: h.level, holder: h.holder, via: h.via, above: h.above })),
  );
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
    const mostSpecific = list.filter((r) => !list.some((other) => other.above.includes(holderKey(r))));
    // The same policy through two holders counts once, shown through its shortest way.
    const byPolicy = new Map<string, PolicyReach>();
    for (const reach of mostSpecific) {
      const known = byPolicy.get(reach.policy);
      if (!known || reach.via.length < known.via.length) byPolicy.set(reach.policy, reach);
    }
    owners.set(series, [...byPolicy.values()]);
  }
  return owners;
}

/**
 * The monitors a device runs: per series, those of the owning policy (ties are conflicts), with the
 * overrides of its holders applied, the lowest level last. A monitor an override disables is in
 * `disabled`, not `monitors`.
 */
export function effectiveMonitors(
  device: DeviceLink,
  groups: ReadonlyMap<string, GroupLink>,
  policies: ReadonlyMap<string, PolicySpec>,
  sites?: ReadonlyMap<string, Holder>,
): {
  monitors: ResolvedMonitor[];
  disabled: ResolvedMonitor[];
  conflicts: MonitorConflict[];
  clashes: OverrideClash[];
  problems: string[];
} {
  const holders = holdersOf(device, groups, sites);
  const seriesOf = (policy: string) =>
    (policies.get(policy)?.monitors ?? []).map((m) => monitoredSeries(m.metric, m.match));
  const overrides = overridesOf(holders, (policy) => policies.get(policy)?.monitors);
  const monitors: ResolvedMonitor[] = [];
  const disabled: ResolvedMonitor[] = [];
  const conflicts: MonitorConflict[] = [];
  for (const [series, owners] of seriesOwners(reachesOf(holders), seriesOf)) {
    if (owners.length > 1) conflicts.push({ series, policies: owners });
    for (const reach of owners) {
      const spec = policies.get(reach.policy) as PolicySpec;
      for (const declared of spec.monitors ?? []) {
        if (monitoredSeries(declared.metric, declared.match) !== series) continue;
        const fields = overrides.changes.get(targetKey(reach.policy, declared.name));
        const changed = fields ? Object.fromEntries([...fields].map(([f, c]) => [f, c.origin])) : {};
        const monitor = fields ? applyChanges(declared, fields) : declared;
        const resolved = { ...reach, monitor, interval: effectiveInterval(spec, monitor), series, changed };
        (fields?.get('disabled')?.value === true ? disabled : monitors).push(resolved);
      }
    }
  }
  return { monitors, disabled, conflicts, clashes: overrides.clashes, problems: overrides.problems };
}
