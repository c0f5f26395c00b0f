import type { Db } from '../state/connection.js';

/** A route as rmm status shows it: what collecting last heard, and what waits on it. */
export interface RouteStatus {
  transport: string;
  route: string;
  /** Seen (a report or heartbeat) within ROUTE_ALIVE_MS of now. */
  connected: boolean;
  lastSeenAt: number | null;
  /** Pending with an intent, Delivered and Running actions through it. */
  depth: number;
  /** Age in ms of the oldest of those (by its delivery intent), null when none. */
  oldestAgeMs: number | null;
}

export const ROUTE_ALIVE_MS = 90_000;

/**
 * When each route was last seen (QueueRoutes.LastSeenAt, epoch ms), by `transport/route` (transport
 * names hold no `/`). A value that is not a time (a row edited by hand) counts as never seen.
 */
export function routeSightings(db: Db): Map<string, number> {
  const rows = db.prepare('SELECT Transport, Route, LastSeenAt FROM QueueRoutes').all() as Array<{
    Transport: string;
    Route: string;
    LastSeenAt: unknown;
  }>;
  const seen = new Map<string, number>();
  for (const r of rows)
    if (typeof r.LastSeenAt === 'number' && Number.isFinite(r.LastSeenAt))
      seen.set(`${r.Transport}/${r.Route}`, r.LastSeenAt);
  return seen;
}

/**
 * The routes of one queued transport whose devices are each a route of their own (SMB): a fleet of
 * them is a count on `rmm status`, with the few not seen lately named, not a line each.
 */
export interface DeviceQueuesStatus {
  transport: string;
  /** Device routes with a sighting or with actions. */
  devices: number;
  /** Of those, seen within ROUTE_ALIVE_MS. */
  connected: number;
  /** Pending with an intent, Delivered and Running actions through any of them. */
  depth: number;
  oldestAgeMs: number | null;
  /** The first NOT_SEEN_NAMED not seen lately, by name. */
  notSeen: string[];
}

const NOT_SEEN_NAMED = 10;

/** Sums device routes per transport (routeStatuses gives each, sorted by name). */
export function deviceQueuesOf(routes: readonly RouteStatus[]): DeviceQueuesStatus[] {
  const byTransport = new Map<string, DeviceQueuesStatus>();
  for (const r of routes) {
    let s = byTransport.get(r.transport);
    if (!s) {
      s = { transport: r.transport, devices: 0, connected: 0, depth: 0, oldestAgeMs: null, notSeen: [] };
      byTransport.set(r.transport, s);
    }
    s.devices++;
    if (r.connected) s.connected++;
    else if (s.notSeen.length < NOT_SEEN_NAMED) s.notSeen.push(r.route);
    s.depth += r.depth;
    if (r.oldestAgeMs !== null) s.oldestAgeMs = Math.max(s.oldestAgeMs ?? 0, r.oldestAgeMs);
  }
  return [...byTransport.values()];
}

/** Every route declared or with actions, by name; reads only. `now` is epoch ms. */
export function routeStatuses(
  db: Db,
  declared: readonly { transport: string; route: string }[],
  now: number,
): RouteStatus[] {
  const byKey = new Map<string, RouteStatus>();
  const entry = (transport: string, route: string) => {
    const key = `${transport}/${route}`;
    let s = byKey.get(key);
    if (!s) {
      s = { transport, route, connected: false, lastSeenAt: null, depth: 0, oldestAgeMs: null };
      byKey.set(key, s);
    }
    return s;
  };
  for (const k of declared) entry(k.transport, k.route);
  for (const [key, at] of routeSightings(db)) {
    const slash = key.indexOf('/');
    const s = entry(key.slice(0, slash), key.slice(slash + 1));
    s.lastSeenAt = at;
    s.connected = now - at <= ROUTE_ALIVE_MS;
  }
  for (const r of db
    .prepare(
      `SELECT d.Transport, d.Route, count(*) AS n, min(d.IntentAt) AS oldest FROM ActionDeliveries d
       JOIN Actions a ON a.ActionId = d.ActionId WHERE a.Status IN ('Pending', 'Delivered', 'Running')
       GROUP BY d.Transport, d.Route`,
    )
    .all() as Array<{ Transport: string; Route: string; n: number; oldest: unknown }>) {
    const s = entry(r.Transport, r.Route);
    s.depth = r.n;
    // IntentAt is SQLite's CURRENT_TIMESTAMP; one edited into something else gives no age.
    const oldest = typeof r.oldest === 'string' ? Date.parse(`${r.oldest.replace(' ', 'T')}Z`) : Number.NaN;
    s.oldestAgeMs = Number.isFinite(oldest) ? Math.max(0, now - oldest) : null;
  }
  return [...byKey.values()].sort((a, b) =>
    `${a.transport}/${a.route}`.localeCompare(`${b.transport}/${b.route}`),
  );
}
