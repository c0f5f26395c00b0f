import type { ResourceView } from '../engine/resource-view.js';
import { isTimeZone } from '../resources/ajv.js';
import type { MaintenanceWindow } from '../resources/kinds.js';
import { type MaintenanceState, type WindowLevel, windowGroups } from './fleet-windows.js';
import { windowTimeline } from './occurrences.js';
import { maintenanceStateOf } from './state-of.js';

/** How far ahead `rmm plan` looks for windows that start or end. */
export const UPCOMING_HORIZON_MS = 24 * 3_600_000;

/** An occurrence of a window that starts or ends within the horizon, in one time zone. */
export interface UpcomingWindow {
  name: string;
  level: WindowLevel;
  holder: string;
  timezone: string;
  /** Epoch ms. */
  start: number;
  end: number;
  /** Whether the start, the end, or both fall within the horizon. */
  starts: boolean;
  ends: boolean;
  /** The devices it reaches in that zone (a group's windows may reach several sites' devices). */
  devices: number;
  pauseSchedules: boolean;
}

/**
 * The windows that start or end within [now, now + horizon] in the state `views` describe (for
 * rmm plan: the state the plan leads to), by start time. A window reaching no device is shown only
 * when it belongs to a site (whose zone is known); a group's window follows its devices' zones.
 */
export function upcomingWindows(
  views: Iterable<ResourceView>,
  now: number,
  horizonMs = UPCOMING_HORIZON_MS,
): UpcomingWindow[] {
  const { state } = maintenanceStateOf(views);
  const reach = reachByZone(state);
  const upcoming: UpcomingWindow[] = [];
  const add = (level: WindowLevel, holder: string, windows: readonly MaintenanceWindow[]) => {
    for (const window of windows)
      for (const [timezone, devices] of reach.get(`${level}\u0000${holder}`) ?? new Map<string, number>()) {
        const occurrences = windowTimeline(window, timezone)?.within(now, now + horizonMs) ?? [];
        for (const { start, end } of occurrences)
          upcoming.push({
            name: window.name,
            level,
            holder,
            timezone,
            start,
            end,
            starts: start >= now && start <= now + horizonMs,
            ends: end >= now && end <= now + horizonMs,
            devices,
            pauseSchedules: window.pauseSchedules === true,
          });
      }
  };
  for (const [name, site] of state.sites) add('site', name, site.maintenance);
  for (const [name, group] of state.groups) add('group', name, group.maintenance);
  for (const [name, device] of state.devices) add('device', name, device.maintenance);
  return upcoming.sort(
    (a, b) => a.start - b.start || a.holder.localeCompare(b.holder) || a.name.localeCompare(b.name),
  );
}

/** For each holder of windows (level and name): the devices it reaches, counted by their site's zone. */
function reachByZone(state: MaintenanceState): Map<string, Map<string, number>> {
  const zoneOf = (site: string) => {
    const timezone = state.sites.get(site)?.timezone;
    return timezone && isTimeZone(timezone) ? timezone : 'UTC';
  };
  const reach = new Map<string, Map<string, number>>();
  const groupsOf = windowGroups(state.groups);
  const count = (key: string, zone: string, n: number) => {
    const zones = reach.get(key) ?? new Map<string, number>();
    zones.set(zone, (zones.get(zone) ?? 0) + n);
    reach.set(key, zones);
  };
  // A site's windows are shown in its zone even before it has devices.
  for (const [name, site] of state.sites)
    if (site.maintenance.length > 0) count(`site\u0000${name}`, zoneOf(name), 0);
  for (const [name, device] of state.devices) {
    const zone = zoneOf(device.site);
    if (device.maintenance.length > 0) count(`device\u0000${name}`, zone, 1);
    if (state.sites.get(device.site)?.maintenance.length) count(`site\u0000${device.site}`, zone, 1);
    for (const group of groupsOf(device.groups)) count(`group\u0000${group}`, zone, 1);
  }
  return reach;
}
