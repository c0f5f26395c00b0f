import type { PolicySpec } from '../resources/kinds.js';
import { policySchedules } from '../service/schedules.js';
import {
  type DeviceLink,
  effectiveMonitors,
  type GroupLink,
  type PolicyReach,
  policiesReaching,
} from './effective-monitors.js';

/**
 * What one device runs, and from where (`rmm get devices NAME --effective`): its effective monitors
 * by the one rule of effective-monitors.ts, the schedules of every policy that reaches it (the same
 * policies as engine/blast-radius.ts's policiesOfDevice, which rmm serve schedules by), and the
 * ties that rule cannot settle. Each comes with its policy, the group that holds the policy and
 * the chain of groups from the device's own group to it. Pure.
 */
export interface Origin {
  policy: string;
  group: string;
  /** From the device's own group up to `group`. */
  via: string[];
}

export interface EffectiveOfDevice {
  monitors: Array<
    Origin & {
      name: string;
      metric: string;
      match: Record<string, string>;
      series: string;
      when: { op: string; value: number; for?: string };
      interval: string;
      severity: string;
      autoResolve: boolean;
    }
  >;
  schedules: Array<Origin & { action: string; everyMs: number; command?: string; priority: number }>;
  conflicts: Array<{ series: string; policies: Origin[] }>;
  /** Stored schedules that cannot run (rows edited by hand), one line each. */
  problems: string[];
}

export function deviceEffective(
  device: DeviceLink,
  groups: ReadonlyMap<string, GroupLink>,
  policies: ReadonlyMap<string, PolicySpec>,
): EffectiveOfDevice {
  const origin = (r: PolicyReach): Origin => ({ policy: r.policy, group: r.group, via: r.via });
  const { monitors, conflicts } = effectiveMonitors(device, groups, policies);
  // The same policy through two groups runs its schedules once, shown through its shortest way.
  const byPolicy = new Map<string, PolicyReach>();
  for (const reach of policiesReaching(device, groups)) {
    const known = byPolicy.get(reach.policy);
    if (!known || reach.via.length < known.via.length) byPolicy.set(reach.policy, reach);
  }
  const schedules: EffectiveOfDevice['schedules'] = [];
  const problems: string[] = [];
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
  return {
    monitors: monitors.map((m) => ({
      ...origin(m),
      name: m.monitor.name,
      metric: m.monitor.metric,
      match: m.monitor.match ?? {},
      series: m.series,
      when: m.monitor.when,
      interval: m.interval,
      severity: m.monitor.severity,
      autoResolve: m.monitor.autoResolve ?? false,
    })),
    schedules,
    conflicts: conflicts.map((c) => ({ series: c.series, policies: c.policies.map(origin) })),
    problems,
  };
}
