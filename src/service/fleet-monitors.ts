import { effectiveMonitors } from '../monitoring/effective-monitors.js';
import { evaluatorMonitor } from '../monitoring/evaluator-monitor.js';
import type { EffectiveMonitor } from '../monitoring/monitors.js';
import type { DeviceLink, GroupLink, Holder } from '../monitoring/policy-holders.js';
import type { PolicySpec } from '../resources/kinds.js';

/**
 * Every device's effective monitors at one state revision, in the evaluator's shape, overrides
 * applied and disabled monitors left out. Validation refuses two policies tying for a series and
 * overrides that clash or cannot apply; rows edited by hand into such a state get what
 * effectiveMonitors gives (both policies' monitors, docs/monitoring.md#effective-monitors), and
 * each problem is reported once, with how many devices have it, for the service to log once per revision.
 */
export interface FleetMonitors {
  byDevice: Map<string, EffectiveMonitor[]>;
  /** Ties and monitors that cannot be read, one line each. */
  problems: string[];
}

/** A device as the walk reads it: its name, site and groups, and what it attaches itself. */
export type FleetDevice = DeviceLink & { name: string };

export function fleetMonitors(
  devices: readonly FleetDevice[],
  groups: ReadonlyMap<string, GroupLink>,
  policies: ReadonlyMap<string, PolicySpec>,
  sites: ReadonlyMap<string, Holder> = new Map(),
): FleetMonitors {
  const byDevice = new Map<string, EffectiveMonitor[]>();
  const ties = new Map<string, number>();
  const unreadable = new Set<string>();
  // Most devices attach nothing themselves and share their site and groups with many others: one
  // answer per such shape (a 100,000-device fleet has a few hundred), shared by its devices.
  const shapes = new Map<string, { own: EffectiveMonitor[]; lines: string[] }>();
  for (const device of devices) {
    const attachesNothing = !device.policies?.length && !device.overrides?.length;
    const key = attachesNothing ? `${device.site ?? ''}\u0000${device.groups.join('\u0000')}` : undefined;
    let shape = key === undefined ? undefined : shapes.get(key);
    if (!shape) {
      shape = resolve(device, groups, policies, sites, unreadable);
      if (key !== undefined) shapes.set(key, shape);
    }
    if (shape.own.length > 0) byDevice.set(device.name, shape.own);
    for (const line of shape.lines) ties.set(line, (ties.get(line) ?? 0) + 1);
  }
  const problems = [
    ...[...ties].map(([line, n]) => `${line}; ${n} device${n === 1 ? '' : 's'}`),
    ...[...unreadable].map((line) => `${line}; left out`),
  ];
  return { byDevice, problems };
}

/** One device's monitors in the evaluator's shape, and its problems as the lines the service logs. */
function resolve(
  device: FleetDevice,
  groups: ReadonlyMap<string, GroupLink>,
  policies: ReadonlyMap<string, PolicySpec>,
  sites: ReadonlyMap<string, Holder>,
  unreadable: Set<string>,
): { own: EffectiveMonitor[]; lines: string[] } {
  const resolved = effectiveMonitors(device, groups, policies, sites);
  const own: EffectiveMonitor[] = [];
  for (const r of resolved.monitors) {
    const monitor = evaluatorMonitor(r);
    if ('problem' in monitor) unreadable.add(monitor.problem);
    else own.push(monitor);
  }
  const lines: string[] = [];
  for (const c of resolved.conflicts) {
    const who = c.policies.map((p) => `"${p.policy}" (${p.level} ${p.holder})`).join(' and ');
    lines.push(`policies ${who} both monitor ${c.series}: both apply (fix the rows with rmm apply)`);
  }
  for (const c of resolved.clashes) {
    const who = c.holders.map((h) => `${h.level} ${h.holder}`).join(' and ');
    lines.push(
      `overrides of ${who} both set ${c.field} of ${c.policy}/${c.monitor}: the last applies (fix the rows with rmm apply)`,
    );
  }
  lines.push(...resolved.problems);
  return { own, lines };
}

/** A stored Policy's fields as the walk reads them: monitors that are objects, and the interval. */
export function policySpecOf(fields: Readonly<Record<string, unknown>>): PolicySpec {
  const monitors = Array.isArray(fields.monitors)
    ? fields.monitors.filter((m): m is NonNullable<PolicySpec['monitors']>[number] => isObject(m))
    : [];
  return {
    monitors,
    ...(typeof fields.interval === 'string' ? { interval: fields.interval } : {}),
  };
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
