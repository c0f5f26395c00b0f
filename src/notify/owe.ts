import type { AlertRow, OwingChange } from '../monitoring/alert-store.js';
import type { OutboxStore } from './outbox-store.js';
import {
  type DeviceScope,
  type NamedRoute,
  type RouteTarget,
  repeatEveryMs,
  routeTargets,
} from './routes.js';

/**
 * From alert changes to the rows of the outbox: what a fire or resolve owes (alert-store's `owes`
 * hook, inside the change's transaction), and which open alerts owe a repeat (each service cycle,
 * from the outbox's own rows, so a restart neither forgets nor doubles one).
 */

/** What routing reads of the declared state; the service fills it from its fleet. */
export interface RoutingState {
  routes: readonly NamedRoute[];
  /** A device's site, groups with ancestors and labels; undefined for a device no longer declared. */
  scopeOf(device: string): DeviceScope | undefined;
}

export function oweToOutbox(outbox: OutboxStore, state: () => RoutingState | undefined) {
  return (change: OwingChange): void => {
    const routing = state();
    const scope = routing?.scopeOf(change.alert.device);
    if (!routing || !scope) return;
    const targets = routeTargets(
      routing.routes,
      { severity: change.alert.severity, event: change.event },
      scope,
    );
    if (targets.length === 0) return;
    outbox.owe(
      { id: change.alert.id, site: scope.site, source: change.alert.source },
      change.event,
      targets,
      change.at,
    );
  };
}

/** The last fire or repeat owed about an alert on a channel, and whether one is still Pending there. */
export interface LastNotified {
  at: number;
  pending: boolean;
}

export const lastKey = (alert: string, channel: string) => `${alert}\u0000${channel}`;

/**
 * The repeats owed now (pure): an open alert, not acknowledged, not snoozed, not in maintenance,
 * owes a repeat on a channel of a matching route with repeatEvery when that long has passed since
 * the last fire or repeat there (or since it was raised, when none was sent: raised in maintenance),
 * and nothing about it is still Pending on that channel (a dead channel gets no pile of repeats).
 */
export function dueRepeats(
  open: readonly AlertRow[],
  last: ReadonlyMap<string, LastNotified>,
  routing: RoutingState,
  options: { now: number; maintenanceOf: (device: string, atMs: number) => string | null },
): Array<{ alert: AlertRow; site: string | null; target: RouteTarget }> {
  const { now } = options;
  const repeating = routing.routes.filter((r) => repeatEveryMs(r.spec) !== undefined);
  if (repeating.length === 0) return [];
  const due: Array<{ alert: AlertRow; site: string | null; target: RouteTarget }> = [];
  for (const alert of open) {
    if (alert.acknowledgedAt !== null) continue;
    if (alert.snoozedUntil !== null && utcMs(alert.snoozedUntil) > now) continue;
    const scope = routing.scopeOf(alert.device);
    if (!scope || options.maintenanceOf(alert.device, now) !== null) continue;
    const seen = new Set<string>();
    for (const route of repeating) {
      const every = repeatEveryMs(route.spec) as number;
      for (const target of routeTargets([route], { severity: alert.severity, event: 'fire' }, scope)) {
        if (seen.has(target.channel)) continue;
        seen.add(target.channel);
        const before = last.get(lastKey(alert.id, target.channel));
        if (before?.pending) continue;
        if (now - (before?.at ?? utcMs(alert.createdAt)) >= every)
          due.push({ alert, site: scope.site, target });
      }
    }
  }
  return due;
}

/** Alerts' times (`YYYY-MM-DD HH:MM:SS`, UTC) in epoch ms. */
export function utcMs(text: string): number {
  return Date.parse(`${text.replace(' ', 'T')}Z`);
}
