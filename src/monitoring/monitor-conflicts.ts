import type { PathSegment } from '../diagnostics/diagnostic.js';
import {
  type DeviceLink,
  type GroupLink,
  type PolicyReach,
  policiesReaching,
  seriesOwners,
} from './effective-monitors.js';

/**
 * The ambiguous case of the effective-monitor rule (effective-monitors.ts), found from the files:
 * two policies reach a device through groups neither of which is above the other, and both monitor
 * one series. Needs every
 * group, policy and device, so it runs after the per-document checks, from small summaries. Devices
 * that list the same groups in the same site share one answer, and one problem is reported per
 * conflict, at the first device that has it, counting the others.
 */
export interface ConflictProblem<Ref> {
  ref: Ref;
  name: string;
  path: PathSegment[];
  message: string;
}

export class MonitorConflictCheck<Ref> {
  readonly #groups = new Map<string, GroupLink>();
  readonly #series = new Map<string, readonly string[]>();
  readonly #devices: Array<{ name: string; link: DeviceLink; ref: Ref }> = [];

  addGroup(name: string, link: GroupLink): void {
    if (!this.#groups.has(name)) this.#groups.set(name, link);
  }

  addPolicy(name: string, series: readonly string[]): void {
    if (!this.#series.has(name)) this.#series.set(name, series);
  }

  addDevice(name: string, link: DeviceLink, ref: Ref): void {
    // One group is one chain, each group above the last: only a device in several can meet a tie.
    if (link.groups.length > 1) this.#devices.push({ name, link, ref });
  }

  check(): ConflictProblem<Ref>[] {
    const memo = new Map<string, Conflict[]>();
    const found = new Map<string, { problem: ConflictProblem<Ref>; count: number }>();
    for (const device of this.#devices) {
      const key = `${device.link.site ?? ''}\u0000${device.link.groups.join('\u0000')}`;
      let conflicts = memo.get(key);
      if (!conflicts) {
        conflicts = this.#conflictsOf(device.link);
        memo.set(key, conflicts);
      }
      for (const conflict of conflicts) {
        const seen = found.get(conflict.id);
        if (seen) {
          seen.count++;
          continue;
        }
        const last = conflict.policies[conflict.policies.length - 1] as PolicyReach;
        const entry = device.link.groups.indexOf(last.via[0] as string);
        found.set(conflict.id, {
          count: 1,
          problem: {
            ref: device.ref,
            name: device.name,
            path: ['spec', 'groups', entry],
            message: messageOf(conflict),
          },
        });
      }
    }
    return [...found.values()].map(({ problem, count }) =>
      count > 1
        ? { ...problem, message: `${problem.message} (and ${count - 1} more devices like it)` }
        : problem,
    );
  }

  #conflictsOf(device: DeviceLink): Conflict[] {
    const owners = seriesOwners(
      policiesReaching(device, this.#groups),
      (policy) => this.#series.get(policy) ?? [],
    );
    return [...owners]
      .filter(([, policies]) => policies.length > 1)
      .map(([series, policies]) => ({
        id: `${series}\u0000${policies.map((p) => p.policy).join('\u0000')}`,
        series,
        policies,
      }));
  }
}

interface Conflict {
  /** The same series and policies on many devices are one problem. */
  id: string;
  series: string;
  policies: PolicyReach[];
}

function messageOf(conflict: Conflict): string {
  const named = conflict.policies.map((p) => `"${p.policy}" (group ${p.via.join(' -> ')})`).join(' and ');
  return `policies ${named} both monitor ${conflict.series} of this device, and neither group is above the other, so neither policy overrides the other; keep that monitor in one of them, or make one group the other's parent (docs/monitoring.md#effective-monitors)`;
}
