import type { ResourceRefs } from '../resources/cross-references.js';
import type { Kind } from '../resources/kinds.js';
import type { Plan } from './plan.js';

/** A resource that would be left pointing at one the plan destroys. */
export interface DanglingReference {
  /** The resource that would be destroyed. */
  target: { kind: Kind; name: string };
  /** The one that still refers to it, and whether the input declares it (else the database holds it). */
  referrer: { kind: Kind; name: string; declared: boolean };
  field: Field;
}

const TARGET_KIND = {
  site: 'Site',
  parent: 'DeviceGroup',
  policy: 'Policy',
  policies: 'Policy',
  groups: 'DeviceGroup',
  channels: 'NotificationChannel',
  relay: 'Relay',
  matchSites: 'Site',
  matchGroups: 'DeviceGroup',
} as const;
type Field = keyof typeof TARGET_KIND;
const LISTS = new Set<Field>(['policies', 'groups', 'channels', 'matchSites', 'matchGroups']);

/**
 * References that a plan's deletions would break: prune may remove a site, group, policy, channel
 * or relay that a resource it keeps (declared now, or stored and outside this prune) still names.
 * Devices have no foreign key to their site and groups are JSON lists, so the database would not stop it.
 */
export function danglingReferences(
  plan: Plan,
  stored: Iterable<ResourceRefs>,
  declared: () => Iterable<ResourceRefs>,
): DanglingReference[] {
  const destroyed = new Set<string>();
  for (const c of plan.changes) if (c.action === 'delete') destroyed.add(`${c.kind}/${c.name}`);
  // Only sites, groups, policies, channels and relays are referred to: destroying none breaks nothing.
  if (!plan.changes.some((c) => c.action === 'delete' && c.kind !== 'Device')) return [];
  const out: DanglingReference[] = [];
  const declaredNames = new Set<string>();
  const visit = (refs: ResourceRefs, isDeclared: boolean) => {
    if (destroyed.has(`${refs.kind}/${refs.name}`)) return;
    for (const field of Object.keys(TARGET_KIND) as Field[]) {
      const kind = TARGET_KIND[field];
      const value = refs[field];
      const names = LISTS.has(field)
        ? ((value as string[] | undefined) ?? [])
        : value
          ? [value as string]
          : [];
      for (const name of names)
        if (destroyed.has(`${kind}/${name}`))
          out.push({
            target: { kind, name },
            referrer: { kind: refs.kind, name: refs.name, declared: isDeclared },
            field,
          });
    }
  };
  for (const refs of declared()) {
    declaredNames.add(`${refs.kind}/${refs.name}`);
    visit(refs, true);
  }
  for (const refs of stored) if (!declaredNames.has(`${refs.kind}/${refs.name}`)) visit(refs, false);
  return out;
}
