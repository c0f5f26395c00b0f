import {
  attachedPolicies,
  type GroupLink,
  groupOfFields,
  type Holder,
  holderOfFields,
  holdersOf,
} from '../monitoring/policy-holders.js';
import { deepEqual } from './field-diff.js';
import type { Plan, ResourceChange } from './plan.js';
import { type RelayMove, relayMoves } from './relay-moves.js';
import type { Fields, ResourceView } from './resource-view.js';

/** How many existing devices a plan moves or re-polices: what a reviewer should weigh. */
export interface BlastRadius {
  /** Devices whose site changes. */
  site: number;
  /** Devices whose list of groups changes. */
  groups: number;
  /** Devices whose effective policies (see effectivePolicies) change, for whatever reason. */
  policy: number;
  /**
   * Devices whose effective monitors change (added, changed or removed, overrides included): counted
   * by replay/monitor-changes.ts through the function rmm serve uses, which the engine may not load.
   */
  monitors?: number;
  /** Devices whose route changes: to or from a relay (engine/relay-moves.ts); always set by blastRadius. */
  relays?: RelayMove[];
}

/**
 * The blast radius of a plan over the stored state it was computed against. `stored` is called only
 * when the plan touches groups or group membership, sites, relays or a device's route; it must
 * return every stored resource (managed or not: a hand-made device in a managed group is affected
 * too). Devices created or destroyed are not
 * counted here: the plan's summary counts them.
 */
export function blastRadius(
  plan: Plan,
  stored: () => Iterable<ResourceView>,
  monitorsChanged?: number,
): BlastRadius {
  const updates = plan.changes.filter((c) => c.kind === 'Device' && c.action === 'update');
  const moved = (field: string) =>
    updates.filter((c) => c.fields.some((f) => f.path[0] === field && !deepEqual(f.before, f.after))).length;
  const touchesPolicy =
    plan.changes.some((c) => c.kind === 'DeviceGroup' || c.kind === 'Site') ||
    moved('site') + moved('groups') + moved('policies') > 0;
  return {
    site: moved('site'),
    groups: moved('groups'),
    policy: touchesPolicy ? policyChanges(plan, stored()) : 0,
    ...(monitorsChanged === undefined ? {} : { monitors: monitorsChanged }),
    relays: relayMoves(plan, stored),
  };
}

/** A group as effective policies read it (monitoring/policy-holders.ts). */
export type Group = GroupLink;

/** Devices present before and after whose effective policies differ. */
function policyChanges(plan: Plan, stored: Iterable<ResourceView>): number {
  const deviceChanges = new Map<string, ResourceChange>();
  const before = new Map<string, Group>();
  const sitesBefore = new Map<string, Holder>();
  const devices: ResourceView[] = [];
  for (const view of stored) {
    if (view.kind === 'DeviceGroup') before.set(view.name, groupOf(view.fields));
    else if (view.kind === 'Site') sitesBefore.set(view.name, holderOfFields(view.fields));
    else if (view.kind === 'Device') devices.push(view);
  }
  const after = new Map(before);
  const sitesAfter = new Map(sitesBefore);
  const changedGroups: string[] = [];
  const changedSites: string[] = [];
  for (const change of plan.changes) {
    if (change.kind === 'Device') deviceChanges.set(change.name, change);
    if (change.kind === 'Site') {
      changedSites.push(change.name);
      if (change.action === 'delete') sitesAfter.delete(change.name);
      else sitesAfter.set(change.name, holderOfFields(change.desired ?? {}));
    }
    if (change.kind !== 'DeviceGroup') continue;
    changedGroups.push(change.name);
    if (change.action === 'delete') after.delete(change.name);
    else after.set(change.name, groupOf(change.desired ?? {}));
  }
  const affected = [...withDescendants(changedGroups, [before, after]), ...changedSites];
  const policiesBefore = effectivePolicies(before, sitesBefore);
  const policiesAfter = effectivePolicies(after, sitesAfter);
  let count = 0;
  for (const device of devices) {
    const change = deviceChanges.get(device.name);
    if (change?.action === 'delete') continue;
    // A device the plan leaves alone keeps its policies unless it is in a group whose chain changed
    // or a site that changed. Its image names both, so most rows are ruled out without being decoded.
    if (!change && !mayBeIn(device, affected)) continue;
    const was = policiesBefore(device.fields);
    const now = policiesAfter(change?.desired ?? device.fields);
    if (was !== now) count++;
  }
  return count;
}

/** The groups given and every group under them, in any of the trees. */
function withDescendants(
  names: readonly string[],
  trees: ReadonlyArray<ReadonlyMap<string, Group>>,
): Set<string> {
  const children = new Map<string, string[]>();
  for (const tree of trees)
    for (const [name, group] of tree) {
      if (group.parent === null) continue;
      const siblings = children.get(group.parent);
      if (siblings) siblings.push(name);
      else children.set(group.parent, [name]);
    }
  const out = new Set<string>();
  const pending = [...names];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (out.has(name)) continue;
    out.add(name);
    pending.push(...(children.get(name) ?? []));
  }
  return out;
}

/** Whether a device may be in one of the groups: false only when its image names none of them. */
function mayBeIn(device: ResourceView, groups: readonly string[]): boolean {
  if (groups.length === 0) return false;
  const { image } = device;
  // Past a few dozen names, searching every image costs about what decoding them does.
  return image === undefined || groups.length > 64 || groups.some((g) => image.includes(g));
}

/** A device's effective policies, as one comparable string (see policiesOfDevice). */
function effectivePolicies(
  groups: ReadonlyMap<string, Group>,
  sites: ReadonlyMap<string, Holder>,
): (device: Fields) => string {
  const policiesOf = policiesOfDevice(groups, sites);
  return (device) => policiesOf(device).join('\n');
}

/**
 * A device's effective policies, sorted: its site's, those of each of its groups and of their
 * ancestors (spec.parent, transitively), and its own (monitoring/policy-holders.ts holdersOf). A
 * group scoped to another site does not apply to the device, nor does anything above it
 * (validation refuses such a membership; a row edited by hand may still hold one). Memoized per
 * site and list of groups, since most devices share a few. rmm serve runs the schedules of these
 * policies on the device.
 */
export function policiesOfDevice(
  groups: ReadonlyMap<string, Group>,
  sites: ReadonlyMap<string, Holder> = new Map(),
): (device: Fields) => string[] {
  const memo = new Map<string, string[]>();
  return (device) => {
    const site = stringOrNull(device.site);
    const memberOf = Array.isArray(device.groups)
      ? device.groups.filter((g): g is string => typeof g === 'string')
      : [];
    const key = `${site ?? ''}\u0000${memberOf.join('\u0000')}`;
    let inherited = memo.get(key);
    if (!inherited) {
      inherited = holdersOf({ groups: memberOf, site }, groups, sites).flatMap((h) => h.policies);
      memo.set(key, inherited);
    }
    return [...new Set([...inherited, ...attachedPolicies(holderOfFields(device))])].sort();
  };
}

/** A group as effective policies read it, from its fields. */
export function groupOf(fields: Fields): Group {
  return groupOfFields(fields);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
