import { quote } from '../quote.js';
import type { Monitor, MonitorOverride } from '../resources/kinds.js';
import { suggest } from '../suggest.js';
import { type HolderReach, holderKey, type Level } from './policy-holders.js';

/**
 * Overrides of inherited monitors (docs/monitoring.md#overrides): which monitor an override names,
 * and what a device's holders change in each monitor, lowest level last. An override may name a
 * monitor of any policy reaching its holder, the holder's own included (a site tunes the baseline
 * it attaches). Pure; validation and the effective-monitor rule share it.
 */
export type OverrideField = 'when.op' | 'when.value' | 'when.for' | 'severity' | 'disabled';

/** What resolving an override needs of a policy's monitor. */
export interface MonitorName {
  name: string;
  enforced?: boolean;
}

export type MonitorsOf = (policy: string) => readonly MonitorName[] | undefined;

export type Resolution =
  | { policy: string; monitor: string }
  | { problem: 'unknown' | 'ambiguous' | 'enforced'; field: 'monitor' | 'policy'; message: string };

/** The monitor an override names among the policies reaching its holder (`candidates`). */
export function resolveOverride(
  override: MonitorOverride,
  candidates: readonly string[],
  monitorsOf: MonitorsOf,
  holder: string,
): Resolution {
  const name = override.monitor;
  if (override.policy !== undefined && !candidates.includes(override.policy)) {
    const hint = suggest(override.policy, candidates);
    return {
      problem: 'unknown',
      field: 'policy',
      message: `policy ${quote(override.policy)} does not reach this ${holder} (${listed(candidates)})${hint ? `; did you mean ${quote(hint)}?` : ''}`,
    };
  }
  const inPolicies = override.policy === undefined ? candidates : [override.policy];
  const having = inPolicies.filter((p) => monitorsOf(p)?.some((m) => m.name === name));
  if (having.length === 0) {
    const names = [...new Set(inPolicies.flatMap((p) => (monitorsOf(p) ?? []).map((m) => m.name)))];
    const hint = suggest(name, names);
    const where =
      override.policy === undefined
        ? `no policy reaching this ${holder} (${listed(candidates)}) has`
        : `policy ${quote(override.policy)} has no`;
    return {
      problem: 'unknown',
      field: 'monitor',
      message: `${where} a monitor ${quote(name)}${hint ? `; did you mean ${quote(hint)}?` : ''}`,
    };
  }
  if (having.length > 1)
    return {
      problem: 'ambiguous',
      field: 'monitor',
      message: `policies ${having.map(quote).join(' and ')} both have a monitor ${quote(name)}; say which with policy:`,
    };
  const policy = having[0] as string;
  if (monitorsOf(policy)?.find((m) => m.name === name)?.enforced === true)
    return {
      problem: 'enforced',
      field: 'monitor',
      message: `monitor ${quote(name)} of policy ${quote(policy)} is enforced: no site, group or device may override it`,
    };
  return { policy, monitor: name };
}

export interface FieldOrigin {
  level: Level;
  holder: string;
  via: string[];
}

export interface FieldChange {
  value: string | number | boolean;
  origin: FieldOrigin;
  key: string;
}

/** Two holders neither above the other that set one field of one monitor differently. */
export interface OverrideClash {
  policy: string;
  monitor: string;
  field: OverrideField;
  holders: FieldOrigin[];
}

export interface DeviceOverrides {
  /** By targetKey(policy, monitor): each field changed, and by whom. */
  changes: Map<string, Map<OverrideField, FieldChange>>;
  clashes: OverrideClash[];
  /** Overrides that name an ambiguous or enforced monitor (rows edited by hand): not applied. */
  problems: string[];
}

export function targetKey(policy: string, monitor: string): string {
  return `${policy}\u0000${monitor}`;
}

/** What the device's holders (policy-holders.ts holdersOf) change, the lowest level last. */
export function overridesOf(holders: readonly HolderReach[], monitorsOf: MonitorsOf): DeviceOverrides {
  if (holders.every((h) => h.overrides.length === 0))
    return { changes: new Map(), clashes: [], problems: [] };
  const policiesOf = new Map(holders.map((h) => [holderKey(h), h.policies]));
  const changes = new Map<string, Map<OverrideField, FieldChange>>();
  const clashes = new Map<string, { clash: OverrideClash; keys: string[] }>();
  const problems: string[] = [];
  // Fewer holders above first: the site, then a group before the groups below it, the device last.
  const ordered = [...holders].sort((a, b) => a.above.length - b.above.length);
  for (const h of ordered) {
    if (h.overrides.length === 0) continue;
    const key = holderKey(h);
    const candidates = [...new Set([key, ...h.above].flatMap((k) => policiesOf.get(k) ?? []))];
    const origin: FieldOrigin = { level: h.level, holder: h.holder, via: h.via };
    for (const override of h.overrides) {
      const target = resolveOverride(override, candidates, monitorsOf, h.level);
      // A monitor this device does not inherit (a global group's override of another site's
      // policy) is not an error here: validation checked the override against every site.
      if ('problem' in target) {
        if (target.problem !== 'unknown')
          problems.push(`${h.level} ${h.holder}: ${target.message}; not applied`);
        continue;
      }
      const id = targetKey(target.policy, target.monitor);
      const fields = changes.get(id) ?? new Map<OverrideField, FieldChange>();
      changes.set(id, fields);
      for (const [field, value] of fieldsOf(override)) {
        const before = fields.get(field);
        const clashId = `${id}\u0000${field}`;
        // A holder below both clashing ones settles the field.
        if (clashes.get(clashId)?.keys.every((k) => h.above.includes(k))) clashes.delete(clashId);
        if (before && before.value !== value && before.key !== key && !h.above.includes(before.key))
          clashes.set(clashId, {
            clash: { ...target, field, holders: [before.origin, origin] },
            keys: [before.key, key],
          });
        fields.set(field, { value, origin, key });
      }
    }
  }
  return { changes, clashes: [...clashes.values()].map((c) => c.clash), problems };
}

/** The fields an override sets. */
function fieldsOf(o: MonitorOverride): Array<[OverrideField, string | number | boolean]> {
  const out: Array<[OverrideField, string | number | boolean]> = [];
  if (o.when?.op !== undefined) out.push(['when.op', o.when.op]);
  if (o.when?.value !== undefined) out.push(['when.value', o.when.value]);
  if (o.when?.for !== undefined) out.push(['when.for', o.when.for]);
  if (o.severity !== undefined) out.push(['severity', o.severity]);
  if (o.disabled !== undefined) out.push(['disabled', o.disabled]);
  return out;
}

/** A monitor with the changed fields applied (disabled is the caller's to read). */
export function applyChanges(monitor: Monitor, fields: ReadonlyMap<OverrideField, FieldChange>): Monitor {
  const when = { ...monitor.when };
  const get = (f: OverrideField) => fields.get(f)?.value;
  if (get('when.op') !== undefined) when.op = get('when.op') as Monitor['when']['op'];
  if (get('when.value') !== undefined) when.value = get('when.value') as number;
  if (get('when.for') !== undefined) when.for = get('when.for') as string;
  const severity = (get('severity') as Monitor['severity'] | undefined) ?? monitor.severity;
  return { ...monitor, when, severity };
}

function listed(policies: readonly string[]): string {
  return policies.length === 0 ? 'none' : `policies: ${policies.join(', ')}`;
}
