import type { DiagnosticCode, PathSegment } from '../diagnostics/diagnostic.js';
import { quote } from '../quote.js';
import type { ResourceRefs } from '../resources/cross-references.js';
import { DEFAULT_SITE, type MonitorOverride } from '../resources/kinds.js';
import { metricNamed, thresholdProblem } from './catalogue.js';
import { type PolicyReach, policiesReaching, seriesOwners } from './effective-monitors.js';
import { type FieldOrigin, overridesOf, resolveOverride } from './monitor-overrides.js';
import {
  attachedPolicies,
  type DeviceLink,
  type GroupLink,
  type Holder,
  holdersOf,
} from './policy-holders.js';

/**
 * The rules of effective monitors that need every site, group, policy and device at once, found
 * from the files (and, for plan and apply, what the database holds), from small summaries:
 * - two policies of one holder (`policies: [a, b]`) that monitor one series;
 * - two policies reaching a device through groups neither above the other that monitor one series;
 * - an override naming a monitor no policy reaching its holder has (did-you-mean), an ambiguous
 *   one, or an enforced one;
 * - two unrelated groups whose overrides set one field of one monitor differently.
 * Device-wide problems are reported once per problem, at the first device that has it, counting
 * the others; devices that list the same groups in the same site share one answer.
 */
export interface MonitorRef {
  name: string;
  series: string;
  enforced?: boolean;
}

export interface PolicyProblem<Ref> {
  ref: Ref;
  kind: 'Site' | 'DeviceGroup' | 'Device';
  name: string;
  code: DiagnosticCode;
  path: PathSegment[];
  message: string;
}

type HolderKind = PolicyProblem<unknown>['kind'];

interface Declared<Ref> {
  kind: HolderKind;
  name: string;
  holder: Holder;
  ref: Ref;
  device?: DeviceLink;
  group?: GroupLink;
}

export class PolicyChecks<Ref> {
  readonly #sites = new Map<string, Holder>();
  readonly #groups = new Map<string, GroupLink>();
  readonly #monitors = new Map<string, readonly MonitorRef[]>();
  readonly #stored = { sites: new Map<string, Holder>(), groups: new Map<string, GroupLink>() };
  readonly #storedMonitors = new Map<string, readonly MonitorRef[]>();
  readonly #declared: Declared<Ref>[] = [];

  private addSite(name: string, holder: Holder, ref: Ref): void {
    if (this.#sites.has(name)) return;
    this.#sites.set(name, holder);
    this.#declared.push({ kind: 'Site', name, holder, ref });
  }

  private addGroup(name: string, group: GroupLink, ref: Ref): void {
    if (this.#groups.has(name)) return;
    this.#groups.set(name, group);
    this.#declared.push({ kind: 'DeviceGroup', name, holder: group, ref, group });
  }

  private addPolicy(name: string, monitors: readonly MonitorRef[]): void {
    if (!this.#monitors.has(name)) this.#monitors.set(name, monitors);
  }

  private addDevice(name: string, device: DeviceLink, ref: Ref): void {
    // One group is one chain, each group above the last: only a device in several can meet a tie
    // between groups; its own policies and overrides are checked like any holder's.
    const own = attachedPolicies(device).length > 1 || (device.overrides?.length ?? 0) > 0;
    if (device.groups.length > 1 || own)
      this.#declared.push({ kind: 'Device', name, holder: device, ref, device: { ...device, name } });
  }

  /** A declared resource, from its summary (resources/cross-references.ts refsOf). */
  add(refs: ResourceRefs, ref: Ref): void {
    const holder = holderOfRefs(refs);
    if (refs.kind === 'Site') this.addSite(refs.name, holder, ref);
    else if (refs.kind === 'DeviceGroup') this.addGroup(refs.name, groupOfRefs(refs), ref);
    else if (refs.kind === 'Policy') this.addPolicy(refs.name, refs.monitors ?? []);
    else
      this.addDevice(
        refs.name,
        { ...holder, groups: refs.groups ?? [], site: refs.site ?? DEFAULT_SITE },
        ref,
      );
  }

  /** What the database holds (plan, apply): a declared resource of the same name replaces it. */
  addStored(refs: ResourceRefs): void {
    if (refs.kind === 'Site') this.#stored.sites.set(refs.name, holderOfRefs(refs));
    else if (refs.kind === 'DeviceGroup') this.#stored.groups.set(refs.name, groupOfRefs(refs));
    else if (refs.kind === 'Policy') this.#storedMonitors.set(refs.name, refs.monitors ?? []);
  }

  check(): PolicyProblem<Ref>[] {
    const sites = new Map([...this.#stored.sites, ...this.#sites]);
    const groups = new Map([...this.#stored.groups, ...this.#groups]);
    const monitors = new Map([...this.#storedMonitors, ...this.#monitors]);
    const monitorsOf = (policy: string) => monitors.get(policy);
    const out: PolicyProblem<Ref>[] = [];
    const found = new Map<string, PolicyProblem<Ref> & { count: number }>();
    const memo = new Map<string, Array<{ id: string; path: PathSegment[]; message: string }>>();
    for (const d of this.#declared) {
      const at = (code: DiagnosticCode, path: PathSegment[], message: string) =>
        out.push({ ref: d.ref, kind: d.kind, name: d.name, code, path, message });
      for (const { index, message } of tiesWithin(d.holder, monitorsOf))
        at('conflict', ['spec', 'policies', index], message);
      // An undeclared policy is reported at its reference; it has no monitors to name.
      const candidates = candidatesOf(d, sites, groups).filter((p) => monitors.has(p));
      (d.holder.overrides ?? []).forEach((override: MonitorOverride, i) => {
        const target = resolveOverride(override, candidates, monitorsOf, levelWord[d.kind]);
        if ('problem' in target)
          at(codeOf[target.problem], ['spec', 'overrides', i, target.field], target.message);
        else if (override.when?.value !== undefined) {
          // The threshold must fit the metric, as the policy's own must (monitor-rules.ts).
          const series = monitorsOf(target.policy)?.find((m) => m.name === target.monitor)?.series ?? '';
          const metric = metricNamed(series.split('{')[0] as string);
          const problem = metric && thresholdProblem(metric, override.when.value);
          if (problem) at('schema', ['spec', 'overrides', i, 'when', 'value'], problem);
        }
      });
      if (!d.device || d.device.groups.length < 2) continue;
      const own = attachedPolicies(d.device);
      const key = `${d.device.site ?? ''}\u0000${d.device.groups.join('\u0000')}\u0001${own.join('\u0000')}\u0001${JSON.stringify(d.device.overrides ?? [])}`;
      let problems = memo.get(key);
      if (!problems) {
        problems = deviceProblems(d.device, groups, sites, monitorsOf);
        memo.set(key, problems);
      }
      for (const p of problems) {
        const seen = found.get(p.id);
        if (seen) seen.count++;
        else
          found.set(p.id, {
            ref: d.ref,
            kind: 'Device',
            name: d.name,
            code: 'conflict',
            path: p.path,
            message: p.message,
            count: 1,
          });
      }
    }
    for (const { count, ...problem } of found.values())
      out.push(
        count > 1
          ? { ...problem, message: `${problem.message} (and ${count - 1} more devices like it)` }
          : problem,
      );
    return out;
  }
}

function holderOfRefs(refs: ResourceRefs): Holder {
  return { policies: refs.policies ?? [], overrides: refs.overrides ?? [] };
}

function groupOfRefs(refs: ResourceRefs): GroupLink {
  return {
    ...holderOfRefs(refs),
    parent: refs.parent ?? null,
    policy: refs.policy ?? null,
    site: refs.site ?? null,
  };
}

const levelWord: Record<HolderKind, string> = { Site: 'site', DeviceGroup: 'group', Device: 'device' };
const codeOf = { unknown: 'reference', ambiguous: 'conflict', enforced: 'enforced' } as const;

/** Two policies of one holder that monitor one series: at the later one in `policies`. */
function tiesWithin(
  holder: Holder,
  monitorsOf: (policy: string) => readonly MonitorRef[] | undefined,
): Array<{ index: number; message: string }> {
  const own = holder.policies ?? [];
  const seen = new Map<string, string>(
    holder.policy ? (monitorsOf(holder.policy) ?? []).map((m) => [m.series, holder.policy as string]) : [],
  );
  const out: Array<{ index: number; message: string }> = [];
  own.forEach((policy, index) => {
    if (policy === holder.policy) return;
    const series = new Set((monitorsOf(policy) ?? []).map((m) => m.series));
    for (const s of series) {
      const other = seen.get(s);
      if (other !== undefined && other !== policy) {
        out.push({
          index,
          message: `policies ${quote(other)} and ${quote(policy)} are attached at the same level and both monitor ${s}, so neither overrides the other; keep that monitor in one of them, or attach one at a lower level (docs/monitoring.md#effective-monitors)`,
        });
        break;
      }
    }
    for (const s of series) if (!seen.has(s)) seen.set(s, policy);
  });
  return out;
}

/**
 * The policies an override of this holder may name: its own and those above it. A global group is
 * above devices of every site, so every site's policies are candidates.
 */
function candidatesOf(
  d: Declared<unknown>,
  sites: ReadonlyMap<string, Holder>,
  groups: ReadonlyMap<string, GroupLink>,
): string[] {
  if (d.kind === 'Site') return attachedPolicies(d.holder);
  if (d.device) return [...new Set(holdersOf(d.device, groups, sites).flatMap((h) => h.policies))];
  const group = d.group as GroupLink;
  const chain = holdersOf({ groups: [d.name], site: group.site }, groups, new Map());
  const siteHolders = group.site !== null ? [sites.get(group.site)] : [...sites.values()];
  return [
    ...new Set([...chain.flatMap((h) => h.policies), ...siteHolders.flatMap((s) => attachedPolicies(s))]),
  ];
}

/** Ties between unrelated groups' policies, and clashes between their overrides, on one device. */
function deviceProblems(
  device: DeviceLink,
  groups: ReadonlyMap<string, GroupLink>,
  sites: ReadonlyMap<string, Holder>,
  monitorsOf: (policy: string) => readonly MonitorRef[] | undefined,
): Array<{ id: string; path: PathSegment[]; message: string }> {
  const link = { ...device, policies: attachedPolicies(device) };
  const seriesOf = (policy: string) => (monitorsOf(policy) ?? []).map((m) => m.series);
  const out: Array<{ id: string; path: PathSegment[]; message: string }> = [];
  for (const [series, owners] of seriesOwners(policiesReaching(link, groups, sites), seriesOf)) {
    // Two policies of one holder are reported at that holder (tiesWithin).
    if (owners.length < 2 || new Set(owners.map((o) => `${o.level}:${o.holder}`)).size < 2) continue;
    const last = owners[owners.length - 1] as PolicyReach;
    out.push({
      id: `tie\u0000${series}\u0000${owners.map((p) => p.policy).join('\u0000')}`,
      path: ['spec', 'groups', device.groups.indexOf(last.via[0] as string)],
      message: `policies ${owners.map((p) => `${quote(p.policy)} (group ${p.via.join(' -> ')})`).join(' and ')} both monitor ${series} of this device, and neither group is above the other, so neither policy overrides the other; keep that monitor in one of them, or make one group the other's parent (docs/monitoring.md#effective-monitors)`,
    });
  }
  for (const c of overridesOf(holdersOf(link, groups, sites), monitorsOf).clashes) {
    const [first, second] = c.holders as [FieldOrigin, FieldOrigin];
    out.push({
      id: `clash\u0000${c.policy}\u0000${c.monitor}\u0000${c.field}\u0000${first.holder}\u0000${second.holder}`,
      path: ['spec', 'groups', device.groups.indexOf(second.via[0] as string)],
      message: `the overrides of groups ${quote(first.holder)} and ${quote(second.holder)} both set ${c.field} of monitor ${quote(c.monitor)} (policy ${quote(c.policy)}) differently, and neither group is above the other; set it in one of them, or on this device (docs/monitoring.md#overrides)`,
    });
  }
  return out;
}
