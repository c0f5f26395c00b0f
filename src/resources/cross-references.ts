import type { DiagnosticCode, PathSegment } from '../diagnostics/diagnostic.js';
import { suggest } from '../suggest.js';
import { DEFAULT_SITE, type Kind, type Resource } from './kinds.js';

/**
 * Checks that need every document at once: duplicates, references between resources, cycles and
 * site scoping. It keeps a small summary per resource, not the resource, so 100,000 devices cost
 * little memory. References resolve among the documents given, plus the built-in site `main`.
 */
export interface CrossReferenceProblem<Ref> {
  ref: Ref;
  kind: Kind;
  name: string;
  code: DiagnosticCode;
  path: PathSegment[];
  message: string;
}

/** What a resource refers to: all the cross-reference checks need of it. */
export interface ResourceRefs {
  kind: Kind;
  name: string;
  /** A device's site, or the site a group is scoped to. */
  site?: string;
  parent?: string;
  policy?: string;
  groups?: string[];
  /** The transport type a Device's transport block (or a Site's defaults) names, if any. */
  transport?: string;
}

interface Entry<Ref> extends ResourceRefs {
  ref: Ref;
}

export function refsOf(resource: Resource): ResourceRefs {
  const refs: ResourceRefs = { kind: resource.kind, name: resource.metadata.name };
  if (resource.kind === 'Device') {
    refs.site = resource.spec.site;
    if (resource.spec.groups) refs.groups = resource.spec.groups;
    if (resource.spec.transport?.type) refs.transport = resource.spec.transport.type;
  } else if (resource.kind === 'Site') {
    if (resource.spec.defaults?.transport?.type) refs.transport = resource.spec.defaults.transport.type;
  } else if (resource.kind === 'DeviceGroup') {
    const { site, parent, policy } = resource.spec;
    if (site) refs.site = site;
    if (parent) refs.parent = parent;
    if (policy) refs.policy = policy;
  }
  return refs;
}

export class ReferenceIndex<Ref> {
  private readonly entries = new Map<Kind, Map<string, Entry<Ref>>>();
  private readonly problems: CrossReferenceProblem<Ref>[] = [];
  /** `describeRef` says where a resource is, for the message about its duplicate. */
  constructor(private readonly describeRef: (ref: Ref) => string) {}

  add(refs: ResourceRefs, ref: Ref): void {
    const { kind, name } = refs;
    let byName = this.entries.get(kind);
    if (!byName) {
      byName = new Map();
      this.entries.set(kind, byName);
    }
    const first = byName.get(name);
    if (first) {
      this.problems.push({
        ref,
        kind,
        name,
        code: 'duplicate',
        path: ['metadata', 'name'],
        message: `declared twice; the first is at ${this.describeRef(first.ref)}`,
      });
      return;
    }
    // The refs object is ours (built for this index), so it becomes the entry without a copy.
    byName.set(name, Object.assign(refs, { ref }));
  }

  /** Every problem found, in the order the resources were added. */
  check(): CrossReferenceProblem<Ref>[] {
    const out = [...this.problems];
    const sites = this.entries.get('Site') ?? new Map<string, Entry<Ref>>();
    const groups = this.entries.get('DeviceGroup') ?? new Map<string, Entry<Ref>>();
    const policies = this.entries.get('Policy') ?? new Map<string, Entry<Ref>>();
    const siteExists = (s: string) => s === DEFAULT_SITE || sites.has(s);
    const missing = (what: string, name: string, declared: Map<string, unknown>) =>
      `${what} "${name}" is not declared${hintOf(name, declared)}`;

    for (const [name, group] of groups) {
      const at = (code: DiagnosticCode, path: PathSegment[], message: string) =>
        out.push({ ref: group.ref, kind: 'DeviceGroup', name, code, path, message });
      if (group.site && !siteExists(group.site))
        at('reference', ['spec', 'site'], missing('site', group.site, sites));
      if (group.policy && !policies.has(group.policy))
        at('reference', ['spec', 'policy'], missing('policy', group.policy, policies));
      if (!group.parent) continue;
      const parent = groups.get(group.parent);
      if (!parent) {
        at('reference', ['spec', 'parent'], missing('group', group.parent, groups));
      } else if (parent.site && parent.site !== group.site) {
        at(
          'scope',
          ['spec', 'parent'],
          `parent group "${group.parent}" is scoped to site "${parent.site}", so this group must be too (it is ${group.site ? `scoped to "${group.site}"` : 'global'})`,
        );
      }
    }
    for (const cycle of findCycles(groups)) {
      const first = cycle[0] as string;
      out.push({
        ref: (groups.get(first) as Entry<Ref>).ref,
        kind: 'DeviceGroup',
        name: first,
        code: 'cycle',
        path: ['spec', 'parent'],
        message: `group parents form a cycle: ${[...cycle, first].join(' -> ')}`,
      });
    }
    for (const [name, device] of this.entries.get('Device') ?? []) {
      const at = (code: DiagnosticCode, path: PathSegment[], message: string) =>
        out.push({ ref: device.ref, kind: 'Device', name, code, path, message });
      if (device.site && !siteExists(device.site))
        at('reference', ['spec', 'site'], missing('site', device.site, sites));
      device.groups?.forEach((groupName, i) => {
        const group = groups.get(groupName);
        if (!group) at('reference', ['spec', 'groups', i], missing('group', groupName, groups));
        else if (group.site && group.site !== device.site)
          at(
            'scope',
            ['spec', 'groups', i],
            `group "${groupName}" is scoped to site "${group.site}", but this device is in site "${device.site}"`,
          );
      });
    }
    return out;
  }
}

/** Each cycle of parent links once, starting at its smallest name. */
function findCycles(groups: Map<string, { parent?: string }>): string[][] {
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[][] = [];
  for (const start of groups.keys()) {
    const trail: string[] = [];
    let current: string | undefined = start;
    while (current !== undefined && groups.has(current) && !state.has(current)) {
      state.set(current, 'visiting');
      trail.push(current);
      current = groups.get(current)?.parent;
    }
    if (current !== undefined && state.get(current) === 'visiting') {
      const cycle = trail.slice(trail.indexOf(current));
      const smallest = cycle.indexOf([...cycle].sort()[0] as string);
      cycles.push([...cycle.slice(smallest), ...cycle.slice(0, smallest)]);
    }
    for (const name of trail) state.set(name, 'done');
  }
  return cycles;
}

function hintOf(name: string, declared: Map<string, unknown>): string {
  const best = suggest(name, [...declared.keys()]);
  return best ? `; did you mean "${best}"?` : '';
}
