import type { MonitorOverride } from '../resources/kinds.js';

/**
 * The sites, groups and devices that attach policies and overrides to a device: its site, every
 * group on its chains (its groups and their ancestors) and itself, each with the holders it
 * refines. Precedence is device over group (a child group over its parent) over site
 * (docs/monitoring.md#effective-monitors). Pure.
 */
export type Level = 'site' | 'group' | 'device';

/** What a site, group or device attaches. A group's `policy` (one) and `policies` (several) are both read. */
export interface Holder {
  policy?: string | null;
  policies?: readonly string[];
  overrides?: readonly MonitorOverride[];
}

/** A group as the walk needs it. */
export interface GroupLink extends Holder {
  parent: string | null;
  site: string | null;
}

export interface DeviceLink extends Holder {
  /** For origins; a device link without one is shown as "device". */
  name?: string;
  groups: readonly string[];
  site: string | null;
}

/** A site, group or device on a device's chains. */
export interface HolderReach {
  level: Level;
  holder: string;
  /** For a group: the groups from the device's own group up to it. Empty otherwise. */
  via: string[];
  /** Keys (holderKey) of the holders this one refines: a group's ancestors and the site; for the device, all. */
  above: string[];
  policies: string[];
  overrides: readonly MonitorOverride[];
}

/** Longest `parent` chain walked: groups rows edited by hand may hold a cycle. */
const MAX_DEPTH = 256;

export function holderKey(h: { level: Level; holder: string }): string {
  return `${h.level}:${h.holder}`;
}

/** A holder's policies: a group's `policy` first, then `policies`, each once. */
export function attachedPolicies(holder: Holder | undefined): string[] {
  if (!holder) return [];
  const out = holder.policy ? [holder.policy] : [];
  for (const p of holder.policies ?? []) if (!out.includes(p)) out.push(p);
  return out;
}

/**
 * Every holder on the device's chains: the site, the groups in the order the device lists them
 * (each followed by its ancestors), the device. A group scoped to another site gives nothing, nor
 * does anything above it; a group not known ends its chain.
 */
export function holdersOf(
  device: DeviceLink,
  groups: ReadonlyMap<string, GroupLink>,
  sites: ReadonlyMap<string, Holder> = new Map(),
): HolderReach[] {
  const siteKey = device.site === null ? [] : [holderKey({ level: 'site', holder: device.site })];
  const out: HolderReach[] = [];
  const site = device.site === null ? undefined : sites.get(device.site);
  if (device.site !== null && site) out.push(reach('site', device.site, [], [], site));
  const reached = new Map<string, HolderReach>();
  for (const start of device.groups) {
    const chain: string[] = [];
    for (let name: string | null = start; name !== null && chain.length < MAX_DEPTH; ) {
      const group = groups.get(name);
      if (!group || chain.includes(name) || (group.site !== null && group.site !== device.site)) break;
      chain.push(name);
      name = group.parent;
    }
    chain.forEach((name, i) => {
      const known = reached.get(name);
      if (known && known.via.length <= i + 1) return;
      const above = [...chain.slice(i + 1).map((g) => holderKey({ level: 'group', holder: g })), ...siteKey];
      reached.set(name, reach('group', name, chain.slice(0, i + 1), above, groups.get(name) as GroupLink));
    });
  }
  const found = [...reached.values()];
  out.push(...found);
  const all = [...found.map(holderKey), ...siteKey];
  out.push(reach('device', device.name ?? 'device', [], all, device));
  return out;
}

function reach(level: Level, holder: string, via: string[], above: string[], from: Holder): HolderReach {
  return { level, holder, via, above, policies: attachedPolicies(from), overrides: from.overrides ?? [] };
}

/** A site's or device's policies and overrides, from its stored or declared fields. */
export function holderOfFields(fields: Readonly<Record<string, unknown>>): Holder {
  const policies = Array.isArray(fields.policies)
    ? fields.policies.filter((p): p is string => typeof p === 'string')
    : [];
  const overrides = Array.isArray(fields.overrides)
    ? fields.overrides.filter(
        (o): o is MonitorOverride =>
          typeof o === 'object' && o !== null && typeof (o as { monitor?: unknown }).monitor === 'string',
      )
    : [];
  return { policies, overrides };
}

/** A group as the walk reads it, from its fields. */
export function groupOfFields(fields: Readonly<Record<string, unknown>>): GroupLink {
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    parent: text(fields.parent),
    site: text(fields.site),
    policy: text(fields.policy),
    ...holderOfFields(fields),
  };
}
