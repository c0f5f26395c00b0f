import { durationSeconds } from '../duration.js';
import type { Severity } from '../monitoring/alert-store.js';
import type { AlertRouteSpec } from '../resources/kinds.js';

export type { AlertRouteSpec };

/**
 * Which channels an alert is owed to: the AlertRoutes it matches (pure). A route matches when every
 * field of its `match` that is given matches the alert's device; an empty match takes every alert.
 * docs/notifications.md#routing.
 */

export interface NamedRoute {
  name: string;
  spec: AlertRouteSpec;
}

/** What routing needs of a device: its site, its groups with every ancestor, its labels. */
export interface DeviceScope {
  site: string | null;
  groups: ReadonlySet<string>;
  labels: Readonly<Record<string, string>>;
}

/** One notification owed: to this channel, because of this route. */
export interface RouteTarget {
  route: string;
  channel: string;
  groupWaitMs: number;
}

export const DEFAULT_GROUP_WAIT_MS = 30_000;

export function routeMatches(route: AlertRouteSpec, severity: Severity, scope: DeviceScope): boolean {
  const match = route.match ?? {};
  if (match.severities && !match.severities.includes(severity)) return false;
  if (match.sites && (scope.site === null || !match.sites.includes(scope.site))) return false;
  if (match.groups && !match.groups.some((g) => scope.groups.has(g))) return false;
  for (const [key, value] of Object.entries(match.labels ?? {}))
    if (scope.labels[key] !== value) return false;
  return true;
}

/**
 * The (route, channel) pairs a fire or a resolve owes, one per channel (the first route in name order
 * that names it wins, so two routes to one channel send one message). A resolve is owed only by
 * routes that notify on resolve.
 */
export function routeTargets(
  routes: readonly NamedRoute[],
  alert: { severity: Severity; event: 'fire' | 'resolve' },
  scope: DeviceScope,
): RouteTarget[] {
  const byChannel = new Map<string, RouteTarget>();
  for (const route of [...routes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (alert.event === 'resolve' && route.spec.notifyOnResolve === false) continue;
    if (!routeMatches(route.spec, alert.severity, scope)) continue;
    for (const channel of route.spec.channels)
      if (!byChannel.has(channel))
        byChannel.set(channel, { route: route.name, channel, groupWaitMs: groupWaitMs(route.spec) });
  }
  return [...byChannel.values()];
}

export function groupWaitMs(route: AlertRouteSpec): number {
  if (route.groupWait === undefined) return DEFAULT_GROUP_WAIT_MS;
  return (durationSeconds(route.groupWait) ?? DEFAULT_GROUP_WAIT_MS / 1000) * 1000;
}

/** repeatEvery in ms; undefined when the route never re-notifies. */
export function repeatEveryMs(route: AlertRouteSpec): number | undefined {
  if (route.repeatEvery === undefined) return undefined;
  const seconds = durationSeconds(route.repeatEvery);
  return seconds === undefined || seconds === 0 ? undefined : seconds * 1000;
}

/** A device's scope from its record and the groups' parents (a cycle in hand-edited rows ends the walk). */
export function deviceScope(
  device: { site: string | null; groups: readonly string[]; labels: Readonly<Record<string, string>> },
  parentOf: ReadonlyMap<string, string | null>,
): DeviceScope {
  const groups = new Set<string>();
  for (const start of device.groups)
    for (let name: string | null | undefined = start; name && !groups.has(name); name = parentOf.get(name))
      groups.add(name);
  return { site: device.site, groups, labels: device.labels };
}
