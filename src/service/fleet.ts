import type { DeviceRecord } from '../actions/targets.js';
import { policiesOfDevice } from '../engine/blast-radius.js';
import { type FleetWindows, fleetWindows } from '../maintenance/fleet-windows.js';
import { maintenanceStateOf } from '../maintenance/state-of.js';
import type { EffectiveMonitor } from '../monitoring/monitors.js';
import type { NamedRoute } from '../notify/routes.js';
import { readStoredNotifications } from '../notify/stored-channels.js';
import type { NotificationChannelSpec } from '../resources/kinds.js';
import type { Db } from '../state/connection.js';
import { readStoredResources, stateRevision } from '../state/resource-store.js';
import { fleetMonitors } from './fleet-monitors.js';
import { monitorInputsOf } from './monitor-inputs.js';
import { type PolicySchedule, policySchedules } from './schedules.js';

/**
 * What the service knows of the declared state: the devices, each device's effective policies and
 * each policy's schedules and monitors, at one state revision. Read again only when an rmm apply
 * moved the revision (the service compares it every tick), so a tick costs one small query.
 */
export interface Fleet {
  revision: number;
  devices: readonly DeviceRecord[];
  /** A device's effective policies (its site's, its groups' and their ancestors', its own), sorted. */
  policiesOf: ReadonlyMap<string, readonly string[]>;
  /** Every policy's runnable schedules, by policy. */
  schedules: ReadonlyMap<string, readonly PolicySchedule[]>;
  /** Each device's effective monitors (fleet-monitors.ts); a device with none is absent. */
  monitors: ReadonlyMap<string, readonly EffectiveMonitor[]>;
  /** The AlertRoutes and NotificationChannels (docs/notifications.md), and each group's parent for routing. */
  routes: readonly NamedRoute[];
  channels: ReadonlyMap<string, NotificationChannelSpec>;
  parentOf: ReadonlyMap<string, string | null>;
  /** Which maintenance window each device is in at a time (docs/maintenance.md). */
  maintenance: FleetWindows;
  /** Schedules that cannot run, monitors or windows that cannot be read or tie (rows edited by hand), one line each. */
  problems: readonly string[];
}

export function readFleet(db: Db): Fleet {
  // One read transaction: an apply committing in between cannot give devices of one revision and
  // policies of another.
  return db.transaction(() => {
    const revision = stateRevision(db);
    // One read of the declared state: the devices, groups, sites and policies all come from it.
    const stored = readStoredResources(db);
    const inputs = monitorInputsOf(stored);
    const { devices, groups } = inputs;
    const schedules = new Map<string, PolicySchedule[]>();
    const problems: string[] = [];
    const notifications = readStoredNotifications(db);
    const routes: NamedRoute[] = [...notifications.routes].map(([name, spec]) => ({ name, spec }));
    problems.push(
      ...notifications.unreadable.map((what) => `${what} cannot be read (edited by hand?); left out`),
    );
    for (const resource of stored) {
      if (resource.kind !== 'Policy') continue;
      const read = policySchedules(resource.name, resource.fields.schedules);
      schedules.set(resource.name, read.schedules);
      problems.push(...read.problems);
    }
    const policiesOf = policiesOfDevice(groups, inputs.sites);
    const byDevice = new Map(
      devices.map((d) => [
        d.name,
        policiesOf({ site: d.site, groups: d.groups, policies: [...(d.policies ?? [])] }),
      ]),
    );
    const monitors = fleetMonitors(devices, groups, inputs.policies, inputs.sites);
    problems.push(...monitors.problems);
    const parentOf = new Map([...groups].map(([name, group]) => [name, group.parent]));
    const windows = maintenanceStateOf(stored);
    problems.push(...windows.problems);
    const maintenance = fleetWindows(windows.state);
    return {
      revision,
      devices,
      policiesOf: byDevice,
      schedules,
      monitors: monitors.byDevice,
      routes,
      channels: notifications.channels,
      parentOf,
      maintenance,
      problems,
    };
  })();
}

/** The devices a policy reaches, in name order. */
export function devicesOfPolicy(fleet: Fleet, policy: string): DeviceRecord[] {
  return fleet.devices
    .filter((d) => fleet.policiesOf.get(d.name)?.includes(policy))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
