import type { PolicySpec } from '../resources/kinds.js';
import { policySchedules } from '../service/schedules.js';
import {
  effectiveMonitors,
  type PolicyReach,
  policiesReaching,
  type ResolvedMonitor,
} from './effective-monitors.js';
import type { FieldOrigin, OverrideClash, OverrideField } from './monitor-overrides.js';
import type { DeviceLink, GroupLink, Holder, Level } from './policy-holders.js';

/**
 * What one device runs, and from where (`rmm get devices NAME --effective`): its effective monitors
 * by the one rule of effective-monitors.ts, the schedules of every policy that reaches it (the same
 * policies as engine/blast-radius.ts's policiesOfDevice, which rmm serve schedules by), and the
 * ties that rule cannot settle. Each comes with its policy and the site, group or device that
 * attaches it (for a group, the chain of groups from the device's own group to it), and each value
 * an override changed with the holder of that override, like `git config --show-origin`. Pure.
 */
export interface Origin {
  policy: string;
  level: Level;
  holder: string;
  /** For a group: from the device's own group up to `holder`. */
  via: string[];
}

export interface EffectiveMonitorOfDevice extends Origin {
  name: string;
  metric: string;
  match: Record<string, string>;
  series: string;
  when: { op: string; value: number; for?: string };
  interval: string;
  severity: string;
  autoResolve: boolean;
  enforced: boolean;
  /** The fields an override changed, each with the override's holder. */
  overridden: Partial<Record<OverrideField, FieldOrigin>>;
}

export interface EffectiveOfDevice {
  monitors: EffectiveMonitorOfDevice[];
  /** Monitors an override turned off here (overridden.disabled says where). */
  disabled: EffectiveMonitorOfDevice[];
  schedules: Array<Origin & { action: string; everyMs: number; command?: string; priority: number }>;
  conflicts: Array<{ series: string; policies: Origin[] }>;
  /** Overrides of unrelated groups that set one field differently. */
  clashes: OverrideClash[];
  /** Stored schedules that cannot run and overrides that cannot apply (rows edited by hand), one line each. */
  problems: string[];
}

export function deviceEffective(
  device: DeviceLink,
  groups: ReadonlyMap<string, GroupLink>,
  policies: ReadonlyMap<string, PolicySpec>,
  sites?: ReadonlyMap<string, Holder>,
): EffectiveOfDevice {
  const origin = (r: PolicyReach): Origin => ({
    policy: r.policy,
    level: r.level,
    holder: r.holder,
    via: r.via,
  });
  const effective = effectiveMonitors(device, groups, policies, sites);
  // The same policy through two holders runs its schedules once, shown through its shortest way.
  const byPolicy = new Map<string, PolicyReach>();
  for (const reach of policiesReaching(device, groups, sites)) {
    const known = byPolicy.get(reach.policy);
    if (!known || reach.via.length < known.via.length) byPolicy.set(reach.policy, reach);
  }
  const schedules: EffectiveOfDevice['schedules'] = [];
  const problems: string[] = [...effective.problems];
  for (const reach of [...byPolicy.values()].sort((a, b) => (a.policy < b.policy ? -1 : 1))) {
    const read = policySchedules(reach.policy, policies.get(reach.policy)?.schedules);
    problems.push(...read.problems);
    for (const s of read.schedules)
      schedules.push({
        ...origin(reach),
        action: s.action,
        everyMs: s.everyMs,
        ...(s.command === undefined ? {} : { command: s.command }),
        priority: s.priority,
      });
  }
  const shown = (m: ResolvedMonitor): EffectiveMonitorOfDevice => ({
    ...origin(m),
    name: m.monitor.name,
    metric: m.monitor.metric,
    match: m.monitor.match ?? {},
    series: m.series,
    when: m.monitor.when,
    interval: m.interval,
    severity: m.monitor.severity,
    autoResolve: m.monitor.autoResolve ?? false,
    enforced: m.monitor.enforced ?? false,
    overridden: m.changed,
  });
  return {
    monitors: effective.monitors.map(shown),
    disabled: effective.disabled.map(shown),
    schedules,
    conflicts: effective.conflicts.map((c) => ({ series: c.series, policies: c.policies.map(origin) })),
    clashes: effective.clashes,
    problems,
  };
}
