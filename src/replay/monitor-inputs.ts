import { type DeviceRecord, deviceRecordsOf } from '../actions/targets.js';
import { type Group, groupOf } from '../engine/blast-radius.js';
import type { ResourceView } from '../engine/resource-view.js';
import type { PolicySpec } from '../resources/kinds.js';
import { policySpecOf } from '../service/fleet-monitors.js';

/** What fleetMonitors (the one function that computes effective monitors) takes. */
export interface MonitorInputs {
  devices: DeviceRecord[];
  groups: Map<string, Group>;
  policies: Map<string, PolicySpec>;
}

/**
 * Declared resources (stored rows, or the state a plan leads to) as fleetMonitors' inputs, as
 * readFleet builds them from the database: kept in this one function so that a change to what
 * decides effective monitors (policies at more levels, overrides) changes the plan here only.
 * Whatever decides a device's monitors must reach fleetMonitors on the device's record (or in the
 * maps shared by all devices): monitor-changes computes devices whose records differ only in name,
 * address and connection once.
 */
export function monitorInputsOf(resources: readonly ResourceView[]): MonitorInputs {
  const groups = new Map<string, Group>();
  const policies = new Map<string, PolicySpec>();
  for (const r of resources) {
    if (r.kind === 'DeviceGroup') groups.set(r.name, groupOf(r.fields));
    else if (r.kind === 'Policy') policies.set(r.name, policySpecOf(r.fields));
  }
  return { devices: deviceRecordsOf(resources), groups, policies };
}
