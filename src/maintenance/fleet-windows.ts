import { isTimeZone } from '../resources/ajv.js';
import type { MaintenanceWindow } from '../resources/kinds.js';
import { type WindowTimeline, windowTimeline } from './occurrences.js';

/** Where a window is declared: the resource that holds it. */
export type WindowLevel = 'site' | 'group' | 'device';

/** The declared state the windows depend on: sites (zones), groups (parents), devices (site, groups). */
export interface MaintenanceState {
  sites: ReadonlyMap<string, { timezone: string | null; maintenance: readonly MaintenanceWindow[] }>;
  groups: ReadonlyMap<string, { parent: string | null; maintenance: readonly MaintenanceWindow[] }>;
  devices: ReadonlyMap<
    string,
    { site: string; groups: readonly string[]; maintenance: readonly MaintenanceWindow[] }
  >;
}

/** A window a device is in at some moment. */
export interface ActiveWindow {
  name: string;
  level: WindowLevel;
  holder: string;
  /** The occurrence under way, epoch ms. */
  start: number;
  endsAt: number;
  pauseSchedules: boolean;
}

export interface FleetWindows {
  /** The windows a device is in at `atMs`: the one ending last first (then device, group, site). */
  windowsOf(device: string, atMs: number): ActiveWindow[];
  /** The name of the window a device is in at `atMs`, or null: what an alert records (notification outbox). */
  maintenanceOf(device: string, atMs: number): string | null;
  /** The window holding a device's schedules at `atMs` (its pausing window ending last), or null. */
  schedulesHeldBy(device: string, atMs: number): ActiveWindow | null;
}

interface HeldWindow {
  window: MaintenanceWindow;
  level: WindowLevel;
  holder: string;
}

const LEVEL_ORDER: Record<WindowLevel, number> = { device: 0, group: 1, site: 2 };

/**
 * Which windows a device is in, from the declared state and a time (pure; docs/maintenance.md). A
 * site's windows reach its devices, a group's the devices in it or in a group below it, a device's
 * itself, each in the time zone of the device's site (UTC when it has none). Timelines are built once
 * per window and zone and cached, so asking for every alert of a storm costs a map lookup.
 */
export function fleetWindows(state: MaintenanceState): FleetWindows {
  const timelines = new Map<string, WindowTimeline | undefined>();
  const held = new Map<string, HeldWindow[]>();
  const groupsOf = windowGroups(state.groups);

  const zoneOf = (site: string): string => {
    const timezone = state.sites.get(site)?.timezone;
    return timezone && isTimeZone(timezone) ? timezone : 'UTC';
  };
  const heldBy = (name: string): HeldWindow[] => {
    let windows = held.get(name);
    if (windows) return windows;
    windows = [];
    const device = state.devices.get(name);
    if (device) {
      for (const window of device.maintenance) windows.push({ window, level: 'device', holder: name });
      for (const group of groupsOf(device.groups))
        for (const window of state.groups.get(group)?.maintenance ?? [])
          windows.push({ window, level: 'group', holder: group });
      for (const window of state.sites.get(device.site)?.maintenance ?? [])
        windows.push({ window, level: 'site', holder: device.site });
    }
    held.set(name, windows);
    return windows;
  };
  const timelineOf = (h: HeldWindow, zone: string): WindowTimeline | undefined => {
    const key = `${h.level}\u0000${h.holder}\u0000${h.window.name}\u0000${zone}`;
    if (!timelines.has(key)) timelines.set(key, windowTimeline(h.window, zone));
    return timelines.get(key);
  };

  const windowsOf = (device: string, atMs: number): ActiveWindow[] => {
    const site = state.devices.get(device)?.site;
    if (site === undefined) return [];
    const zone = zoneOf(site);
    const active: ActiveWindow[] = [];
    for (const h of heldBy(device)) {
      const occurrence = timelineOf(h, zone)?.at(atMs);
      if (!occurrence) continue;
      active.push({
        name: h.window.name,
        level: h.level,
        holder: h.holder,
        start: occurrence.start,
        endsAt: occurrence.end,
        pauseSchedules: h.window.pauseSchedules === true,
      });
    }
    return active.sort((a, b) => b.endsAt - a.endsAt || LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level]);
  };

  return {
    windowsOf,
    maintenanceOf: (device, atMs) => windowsOf(device, atMs)[0]?.name ?? null,
    schedulesHeldBy: (device, atMs) => windowsOf(device, atMs).find((w) => w.pauseSchedules) ?? null,
  };
}

/**
 * For a device's groups, the groups among them and above them that declare windows, each once. The
 * answer per group is kept, so a fleet of devices under a deep tree walks each chain once.
 */
export function windowGroups(groups: MaintenanceState['groups']): (memberOf: readonly string[]) => string[] {
  const holdersAbove = new Map<string, string[]>();
  const holdersOf = (group: string): string[] => {
    const known = holdersAbove.get(group);
    if (known) return known;
    const found: string[] = [];
    const seen = new Set<string>();
    // A parent cycle edited in by hand ends the walk.
    for (let g: string | null | undefined = group; g && !seen.has(g); g = groups.get(g)?.parent) {
      seen.add(g);
      if (groups.get(g)?.maintenance.length) found.push(g);
    }
    holdersAbove.set(group, found);
    return found;
  };
  return (memberOf) => {
    if (memberOf.length === 1) return holdersOf(memberOf[0] as string);
    return [...new Set(memberOf.flatMap(holdersOf))];
  };
}

/** How a window is named to people: "patch-night (group web)". */
export function windowLabel(window: Pick<ActiveWindow, 'name' | 'level' | 'holder'>): string {
  return `${window.name} (${window.level} ${window.holder})`;
}
