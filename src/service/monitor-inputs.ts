import { type DeviceRecord, deviceRecordsOf } from '../actions/targets.js';
import { type Group, groupOf } from '../engine/blast-radius.js';
import type { ResourceView } from '../engine/resource-view.js';
import { type Holder, holderOfFields } from '../monitoring/policy-holders.js';
import type { PolicySpec } from '../resources/kinds.js';
import { policySpecOf } from './fleet-monitors.js';

/** What fleetMonitors (the one function that computes effective monitors) takes. */
export interface MonitorInputs {
  /** Each device's record with what it attaches itself (policies, overrides), as readFleet joins them. */
  devices: (DeviceRecord & Holder)[];
  groups: Map<string, Group>;
  policies: Map<string, PolicySpec>;
  /** What each site attaches. */
  sites: Map<string, Holder>;
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
  const sites = new Map<string, Holder>();
  const own = new Map<string, Holder>();
  for (const r of resources) {
    if (r.kind === 'DeviceGroup') groups.set(r.name, groupOf(r.fields));
    else if (r.kind === 'Policy') policies.set(r.name, policySpecOf(r.fields));
    else if (r.kind === 'Site') sites.set(r.name, holderOfFields(r.fields));
    else if (r.kind === 'Device' && (r.fields.policies !== undefined || r.fields.overrides !== undefined))
      own.set(r.name, holderOfFields(r.fields));
  }
  const devices = deviceRecordsOf(resources).map((d) => ({ ...d, ...own.get(d.name) }));
  return { devices, groups, policies, sites };
}
