import type { Plan } from '../engine/plan.js';
import { plannedState } from '../engine/planned-state.js';
import type { ResourceView } from '../engine/resource-view.js';
import type { EffectiveMonitor } from '../monitoring/monitors.js';
import { canonicalLabels } from '../monitoring/samples.js';
import { fleetMonitors } from '../service/fleet-monitors.js';
import { type MonitorInputs, monitorInputsOf } from '../service/monitor-inputs.js';

/**
 * Which effective monitors a plan changes, device by device: every device's effective monitors
 * before (the stored state) and after (the stored state with the plan's changes), compared per
 * monitor identity (policy and monitor name) and definition. Pure: the plan and the stored rows in,
 * plain data out. Devices created or destroyed by the plan are not counted, as in the blast radius.
 */

/** One device on which a monitor is new or differs. */
export interface DeviceMonitorChange {
  device: string;
  /** The monitor as the device runs it now; null when the plan gives it to the device. */
  before: EffectiveMonitor | null;
  after: EffectiveMonitor;
}

/** A monitor (policy and name) the plan adds or changes on at least one device. */
export interface MonitorChange {
  policy: string;
  name: string;
  /** Its policy had no monitor of that name before the plan. */
  added: boolean;
  /** The devices where it is new or differs, in name order. */
  devices: DeviceMonitorChange[];
}

export interface MonitorChanges {
  /** Existing devices whose effective monitors differ after the plan (added, changed or removed). */
  devices: number;
  /** Monitors added or changed, by policy then name; a monitor only removed is not among them. */
  monitors: MonitorChange[];
}

/** Kinds whose change may move the monitors of devices the plan does not touch. */
const FLEET_WIDE = new Set(['Site', 'Policy', 'DeviceGroup']);

export function monitorChanges(stored: readonly ResourceView[], plan: Plan): MonitorChanges {
  const fleetWide = plan.changes.some((c) => FLEET_WIDE.has(c.kind));
  const touched = new Set(plan.changes.filter((c) => c.kind === 'Device').map((c) => c.name));
  if (!fleetWide && touched.size === 0) return { devices: 0, monitors: [] };
  // Only existing devices are compared (a cold apply computes nothing), and when the plan changes
  // only Devices, only those: no other device's monitors can move.
  const existing = new Set(stored.filter((r) => r.kind === 'Device').map((r) => r.name));
  const inScope = (r: ResourceView) =>
    r.kind !== 'Device' || (existing.has(r.name) && (fleetWide || touched.has(r.name)));
  const before = stored.filter(inScope);
  // Creates of devices are out of scope: left out before plannedState, not built and filtered away
  // (a cold apply of 100,000 devices built them all).
  const changes = plan.changes.filter((c) => c.kind !== 'Device' || existing.has(c.name));
  const after = plannedState({ ...plan, changes }, before).filter(inScope);
  const was = effectiveOf(before);
  const now = effectiveOf(after);
  const byMonitor = new Map<string, MonitorChange>();
  let devices = 0;
  // Devices alike share their monitor maps, so the comparison is made once per pair of maps.
  const compared = new Map<DeviceMonitors, Map<DeviceMonitors, Difference>>();
  for (const [device, monitorsNow] of now) {
    const monitorsWas = was.get(device);
    // A device the plan creates has no history to compare with: the plan's summary counts it.
    if (monitorsWas === undefined) continue;
    let pairs = compared.get(monitorsWas);
    if (pairs === undefined) {
      pairs = new Map();
      compared.set(monitorsWas, pairs);
    }
    let difference = pairs.get(monitorsNow);
    if (difference === undefined) {
      difference = differenceOf(monitorsWas, monitorsNow);
      pairs.set(monitorsNow, difference);
    }
    if (difference.differs) devices++;
    for (const { key, before: old, after: monitor } of difference.changed) {
      let change = byMonitor.get(key);
      if (change === undefined) {
        change = { policy: monitor.policy, name: monitor.name, added: true, devices: [] };
        byMonitor.set(key, change);
      }
      change.devices.push({ device, before: old, after: monitor });
    }
  }
  // Added: its policy had no monitor of that name (a device joining a group gains monitors that are not new).
  const policies = monitorInputsOf(stored.filter((r) => r.kind === 'Policy')).policies;
  for (const change of byMonitor.values())
    change.added = !(policies.get(change.policy)?.monitors ?? []).some((m) => m.name === change.name);
  const monitors = [...byMonitor.values()].sort(
    (a, b) => compare(a.policy, b.policy) || compare(a.name, b.name),
  );
  for (const m of monitors) m.devices.sort((a, b) => compare(a.device, b.device));
  return { devices, monitors };
}

type DeviceMonitors = ReadonlyMap<string, EffectiveMonitor>;

interface Difference {
  differs: boolean;
  /** The monitors added or changed, by identity. */
  changed: { key: string; before: EffectiveMonitor | null; after: EffectiveMonitor }[];
}

function differenceOf(was: DeviceMonitors, now: DeviceMonitors): Difference {
  const changed: Difference['changed'] = [];
  for (const [key, monitor] of now) {
    const old = was.get(key) ?? null;
    if (old === null || definitionOf(old) !== definitionOf(monitor))
      changed.push({ key, before: old, after: monitor });
  }
  return { differs: changed.length > 0 || was.size !== now.size, changed };
}

/**
 * Every device's effective monitors, by monitor identity; a device with none has an empty map.
 * fleetMonitors runs once per kind of device: devices whose records differ only in name, address and
 * connection have the same monitors (100,000 devices of a few kinds took 11 s and 700 MB one by one),
 * and share one map. Anything that decides a device's monitors must be on its record.
 */
function effectiveOf(resources: readonly ResourceView[]): Map<string, DeviceMonitors> {
  const inputs = monitorInputsOf(resources);
  const kinds = new Map<string, MonitorInputs['devices'][number]>();
  const kindOf = new Map<string, string>();
  for (const device of inputs.devices) {
    const { name, host, transport, ...decides } = device;
    const kind = JSON.stringify(decides);
    kindOf.set(name, kind);
    if (!kinds.has(kind)) kinds.set(kind, device);
  }
  const fleet = fleetMonitors([...kinds.values()], inputs.groups, inputs.policies, inputs.sites);
  const byKind = new Map<string, DeviceMonitors>();
  for (const [kind, device] of kinds)
    byKind.set(kind, new Map((fleet.byDevice.get(device.name) ?? []).map((m) => [identityOf(m), m])));
  const out = new Map<string, DeviceMonitors>();
  for (const [name, kind] of kindOf) out.set(name, byKind.get(kind) as DeviceMonitors);
  return out;
}

/** A monitor's identity across states: its policy and name (an alert key holds the same two). */
export function identityOf(monitor: Pick<EffectiveMonitor, 'policy' | 'name'>): string {
  return `${monitor.policy}\u0000${monitor.name}`;
}

/** Everything a device's alerts depend on: a change to any of it is a changed monitor. */
export function definitionOf(m: EffectiveMonitor): string {
  return JSON.stringify([
    m.metric,
    canonicalLabels(m.match),
    m.op,
    m.threshold,
    m.forMs,
    m.intervalMs,
    m.severity,
    m.autoResolve,
  ]);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
