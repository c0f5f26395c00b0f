import type { DiagnosticCode, PathSegment } from '../diagnostics/diagnostic.js';
import { monitoredSeries } from '../monitoring/effective-monitors.js';
import type { MonitorRef } from '../monitoring/policy-checks.js';
import { quote } from '../quote.js';
import { suggest } from '../suggest.js';
import { RELAY_TRANSPORT } from '../transports/device-route.js';
import {
  type AlertRouteSpec,
  DEFAULT_SITE,
  type Kind,
  type MonitorOverride,
  type Resource,
} from './kinds.js';
import { relayProblems } from './relay-references.js';

/**
 * Checks that need every document at once: duplicates, references between resources, cycles and
 * site scoping. It keeps a small summary per resource, not the resource, so 100,000 devices cost
 * little memory. References resolve among the documents given, the built-in site `main`, and (for
 * plan and apply) the resources the database already holds: a declared resource replaces its stored
 * self, and a stored resource that the input would leave broken (its group now scoped elsewhere, a
 * parent cycle) is reported at the declaration that breaks it.
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
  /**
   * A Device's transport block, or a Site's defaults.transport: the checks of the block a device is
   * reached with (resources/transport-options.ts effectiveTransportProblems) need both.
   */
  transportBlock?: Record<string, unknown>;
  /** Policies a Site, DeviceGroup (its `policies`; `policy` is above) or Device attaches. */
  policies?: string[];
  /** A Site's, DeviceGroup's or Device's overrides, for the override checks (monitoring/policy-checks). */
  overrides?: MonitorOverride[];
  /** A Policy's monitors: name, series (effective-monitors monitoredSeries), enforced; for the policy checks. */
  monitors?: MonitorRef[];
  /** The Relay a Site names (spec.relay). */
  relay?: string;
  /** An AlertRoute's channels, and the sites and groups its match names. */
  channels?: string[];
  matchSites?: string[];
  matchGroups?: string[];
}

interface Entry<Ref> extends ResourceRefs {
  ref: Ref;
}

export function refsOf(resource: Resource): ResourceRefs {
  const refs: ResourceRefs = { kind: resource.kind, name: resource.metadata.name };
  if (resource.kind === 'Site' || resource.kind === 'DeviceGroup' || resource.kind === 'Device') {
    const { policies, overrides } = resource.spec;
    if (policies?.length) refs.policies = policies;
    if (overrides?.length) refs.overrides = overrides;
  }
  if (resource.kind === 'Device') {
    refs.site = resource.spec.site;
    if (resource.spec.groups) refs.groups = resource.spec.groups;
    if (resource.spec.transport?.type) refs.transport = resource.spec.transport.type;
    if (resource.spec.transport) refs.transportBlock = resource.spec.transport as Record<string, unknown>;
  } else if (resource.kind === 'Site') {
    const block = resource.spec.defaults?.transport;
    if (block?.type) refs.transport = block.type;
    if (block) refs.transportBlock = block as Record<string, unknown>;
    if (resource.spec.relay) refs.relay = resource.spec.relay;
  } else if (resource.kind === 'Relay') {
    // Its nats block is a route of the relay transport, checked by that plugin as a block is.
    refs.transport = RELAY_TRANSPORT;
    refs.transportBlock = resource.spec.nats;
  } else if (resource.kind === 'Policy') {
    const monitors = monitorRefsOf(resource.spec.monitors ?? []);
    if (monitors.length) refs.monitors = monitors;
  } else if (resource.kind === 'AlertRoute') {
    Object.assign(refs, routeRefs(resource.spec));
  } else if (resource.kind === 'DeviceGroup') {
    const { site, parent, policy } = resource.spec;
    if (site) refs.site = site;
    if (parent) refs.parent = parent;
    if (policy) refs.policy = policy;
  }
  return refs;
}

/** What the policy checks need of a policy's monitors. */
export function monitorRefsOf(
  monitors: ReadonlyArray<{
    name: string;
    metric: string;
    match?: Record<string, string>;
    enforced?: boolean;
  }>,
): MonitorRef[] {
  return monitors.map((m) => ({
    name: m.name,
    series: monitoredSeries(m.metric, m.match),
    ...(m.enforced ? { enforced: true } : {}),
  }));
}

/** The same, from a resource's declared fields as plan holds them (engine/resource-view). */
export function refsOfFields(kind: Kind, name: string, fields: Record<string, unknown>): ResourceRefs {
  const refs: ResourceRefs = { kind, name };
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  if (kind !== 'Policy' && Array.isArray(fields.policies))
    refs.policies = fields.policies.filter((p): p is string => typeof p === 'string');
  const site = text(fields.site);
  if ((kind === 'Device' || kind === 'DeviceGroup') && site) refs.site = site;
  const relay = text(fields.relay);
  if (kind === 'Site' && relay) refs.relay = relay;
  if (kind === 'Device' && Array.isArray(fields.groups))
    refs.groups = fields.groups.filter((g): g is string => typeof g === 'string');
  if (kind === 'DeviceGroup') {
    const parent = text(fields.parent);
    const policy = text(fields.policy);
    if (parent) refs.parent = parent;
    if (policy) refs.policy = policy;
  }
  if (kind === 'AlertRoute')
    Object.assign(refs, routeRefs({ channels: fields.channels, match: fields.match } as AlertRouteSpec));
  return refs;
}

/** What an AlertRoute names: its channels, and the sites and groups of its match. */
function routeRefs(spec: AlertRouteSpec): Pick<ResourceRefs, 'channels' | 'matchSites' | 'matchGroups'> {
  const names = (v: unknown) => (Array.isArray(v) ? v.filter((n): n is string => typeof n === 'string') : []);
  const refs: Pick<ResourceRefs, 'channels' | 'matchSites' | 'matchGroups'> = {};
  const channels = names(spec.channels);
  const sites = names(spec.match?.sites);
  const groups = names(spec.match?.groups);
  if (channels.length) refs.channels = channels;
  if (sites.length) refs.matchSites = sites;
  if (groups.length) refs.matchGroups = groups;
  return refs;
}

export class ReferenceIndex<Ref> {
  private readonly entries = new Map<Kind, Map<string, Entry<Ref>>>();
  private readonly stored = new Map<Kind, Map<string, ResourceRefs>>();
  private readonly problems: CrossReferenceProblem<Ref>[] = [];
  /**
   * `describeRef` says where a resource is, for the message about its duplicate. `stored`: the
   * resources the database holds (plan and apply), which references may also resolve to.
   */
  constructor(
    private readonly describeRef: (ref: Ref) => string,
    stored?: Iterable<ResourceRefs>,
  ) {
    this.addStored(stored ?? []);
  }

  /** More stored resources to resolve against and check (devices are read once the declared are known). */
  addStored(stored: Iterable<ResourceRefs>): void {
    for (const refs of stored) {
      let byName = this.stored.get(refs.kind);
      if (!byName) {
        byName = new Map();
        this.stored.set(refs.kind, byName);
      }
      byName.set(refs.name, refs);
    }
  }

  /** Whether references were resolved against stored resources too, for the wording of messages. */
  private get where(): string {
    return this.stored.size > 0 ? ' in the input nor in the database' : '';
  }

  /** Stored resources of a kind that the input does not declare again. */
  private storedOnly(kind: Kind): Map<string, ResourceRefs> {
    const declared = this.entries.get(kind);
    const out = new Map<string, ResourceRefs>();
    for (const [name, refs] of this.stored.get(kind) ?? []) if (!declared?.has(name)) out.set(name, refs);
    return out;
  }

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
    // What references resolve to: the declarations, else what the database holds.
    const allSites = new Map<string, ResourceRefs>([...this.storedOnly('Site'), ...sites]);
    const allGroups = new Map<string, ResourceRefs>([...this.storedOnly('DeviceGroup'), ...groups]);
    const allPolicies = new Map<string, ResourceRefs>([...this.storedOnly('Policy'), ...policies]);
    const siteExists = (s: string) => s === DEFAULT_SITE || allSites.has(s);
    const missing = (what: string, name: string, declared: Map<string, unknown>) =>
      `${what} ${quote(name)} is not declared${this.where}${hintOf(name, declared)}`;

    for (const kind of ['Site', 'DeviceGroup', 'Device'] as const)
      for (const [name, holder] of this.entries.get(kind) ?? [])
        holder.policies?.forEach((policy, i) => {
          if (!allPolicies.has(policy))
            out.push({
              ref: holder.ref,
              kind,
              name,
              code: 'reference',
              path: ['spec', 'policies', i],
              message: missing('policy', policy, allPolicies),
            });
        });
    for (const [name, group] of groups) {
      const at = (code: DiagnosticCode, path: PathSegment[], message: string) =>
        out.push({ ref: group.ref, kind: 'DeviceGroup', name, code, path, message });
      if (group.site && !siteExists(group.site))
        at('reference', ['spec', 'site'], missing('site', group.site, allSites));
      if (group.policy && !allPolicies.has(group.policy))
        at('reference', ['spec', 'policy'], missing('policy', group.policy, allPolicies));
      if (!group.parent) continue;
      const parent = allGroups.get(group.parent);
      if (!parent) {
        at('reference', ['spec', 'parent'], missing('group', group.parent, allGroups));
      } else if (parent.site && parent.site !== group.site) {
        at(
          'scope',
          ['spec', 'parent'],
          `parent group ${quote(group.parent)} is scoped to site ${quote(parent.site)}, so this group must be too (it is ${group.site ? `scoped to ${quote(group.site)}` : 'global'})`,
        );
      }
    }
    // Stored groups under a declared parent must still fit its scope.
    for (const [name, child] of this.storedOnly('DeviceGroup')) {
      const parent = child.parent ? groups.get(child.parent) : undefined;
      if (parent?.site && parent.site !== child.site)
        out.push({
          ref: parent.ref,
          kind: 'DeviceGroup',
          name: parent.name,
          code: 'scope',
          path: ['spec', 'site'],
          message: `group ${quote(name)} in the database has this group as its parent and is ${child.site ? `scoped to ${quote(child.site)}` : 'global'}, so this group cannot be scoped to ${quote(parent.site)}`,
        });
    }
    // Cycles through at least one declared group, reported at the first declared group in the cycle.
    for (const cycle of findCycles(allGroups)) {
      const first = cycle.find((g) => groups.has(g));
      if (first === undefined) continue;
      out.push({
        ref: (groups.get(first) as Entry<Ref>).ref,
        kind: 'DeviceGroup',
        name: first,
        code: 'cycle',
        path: ['spec', 'parent'],
        message: `group parents form a cycle: ${[...cycle.slice(cycle.indexOf(first)), ...cycle.slice(0, cycle.indexOf(first)), first].join(' -> ')}`,
      });
    }
    for (const [name, device] of this.entries.get('Device') ?? []) {
      const at = (code: DiagnosticCode, path: PathSegment[], message: string) =>
        out.push({ ref: device.ref, kind: 'Device', name, code, path, message });
      if (device.site && !siteExists(device.site))
        at('reference', ['spec', 'site'], missing('site', device.site, allSites));
      device.groups?.forEach((groupName, i) => {
        const group = allGroups.get(groupName);
        if (!group) at('reference', ['spec', 'groups', i], missing('group', groupName, allGroups));
        else if (group.site && group.site !== device.site)
          at(
            'scope',
            ['spec', 'groups', i],
            `group ${quote(groupName)} is scoped to site ${quote(group.site)}, but this device is in site ${quote(device.site ?? DEFAULT_SITE)}`,
          );
      });
    }
    // Stored devices in a declared group must still be in the site it is scoped to (one problem per group).
    const strays = new Map<string, { first: string; site: string | undefined; count: number }>();
    for (const [name, device] of this.storedOnly('Device')) {
      for (const groupName of device.groups ?? []) {
        const group = groups.get(groupName);
        if (!group?.site || group.site === device.site) continue;
        const seen = strays.get(groupName);
        if (seen) seen.count++;
        else strays.set(groupName, { first: name, site: device.site, count: 1 });
      }
    }
    for (const [groupName, { first, site, count }] of strays) {
      const group = groups.get(groupName) as Entry<Ref>;
      const more = count > 1 ? ` (and ${count - 1} more devices outside that site)` : '';
      out.push({
        ref: group.ref,
        kind: 'DeviceGroup',
        name: groupName,
        code: 'scope',
        path: ['spec', 'site'],
        message: `device ${quote(first)} in the database is in this group and in site ${quote(site ?? DEFAULT_SITE)}, so the group cannot be scoped to ${quote(String(group.site))}${more}`,
      });
    }
    out.push(...this.routeProblems(allSites, allGroups, siteExists, missing));
    const relays = new Map<string, unknown>([
      ...this.storedOnly('Relay'),
      ...(this.entries.get('Relay') ?? []),
    ]);
    const devices = this.entries.get('Device') ?? new Map();
    out.push(...relayProblems(relays, sites, allSites, devices, this.storedOnly('Device'), missing));
    return out;
  }

  /** A route's channels, and the sites and groups its match names, must exist. */
  private routeProblems(
    allSites: Map<string, unknown>,
    allGroups: Map<string, unknown>,
    siteExists: (site: string) => boolean,
    missing: (what: string, name: string, declared: Map<string, unknown>) => string,
  ): CrossReferenceProblem<Ref>[] {
    const out: CrossReferenceProblem<Ref>[] = [];
    const channels = new Map<string, unknown>([
      ...this.storedOnly('NotificationChannel'),
      ...(this.entries.get('NotificationChannel') ?? []),
    ]);
    const sitesWithMain = new Map<string, unknown>([[DEFAULT_SITE, true], ...allSites]);
    for (const [name, route] of this.entries.get('AlertRoute') ?? []) {
      const at = (path: PathSegment[], message: string) =>
        out.push({ ref: route.ref, kind: 'AlertRoute', name, code: 'reference', path, message });
      route.channels?.forEach((channel, i) => {
        if (!channels.has(channel)) at(['spec', 'channels', i], missing('channel', channel, channels));
      });
      route.matchSites?.forEach((site, i) => {
        if (!siteExists(site)) at(['spec', 'match', 'sites', i], missing('site', site, sitesWithMain));
      });
      route.matchGroups?.forEach((group, i) => {
        if (!allGroups.has(group)) at(['spec', 'match', 'groups', i], missing('group', group, allGroups));
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
  return best ? `; did you mean ${quote(best)}?` : '';
}
