import { DEFAULT_SITE } from '../resources/kinds.js';
import { queueRouteOf, siteRelaysOf } from '../transports/device-route.js';
import { effectiveTransport, type TransportBlock } from '../transports/effective-transport.js';
import type { Plan, ResourceChange } from './plan.js';
import { plannedState } from './planned-state.js';
import type { Fields, ResourceView } from './resource-view.js';

/**
 * Existing devices whose route a plan changes: from direct (null) or a relay to another, because a
 * site gains or loses its relay, a Relay is created or destroyed, or a device changes site or `via`
 * (its own, or its site's default's). A reviewer sees where the actions of those devices will run.
 */
export interface RelayMove {
  /** The relay the devices were reached through, or null for direct. */
  from: string | null;
  /** The relay they will be reached through, or null for direct. */
  to: string | null;
  count: number;
  /** Their names, sorted, the first MOVE_NAMES of them. */
  devices: string[];
}

export const MOVE_NAMES = 20;

/**
 * Pure: the moves of the stored devices the plan keeps. `storedRows` (every stored row) is read only
 * when the plan may move one.
 */
export function relayMoves(plan: Plan, storedRows: () => Iterable<ResourceView>): RelayMove[] {
  const touches = plan.changes.some(
    (c) =>
      c.kind === 'Relay' ||
      c.kind === 'Site' ||
      (c.kind === 'Device' &&
        c.action === 'update' &&
        c.fields.some((f) => f.path[0] === 'site' || f.path[0] === 'transport')),
  );
  if (!touches) return [];
  const stored = [...storedRows()];
  const before = routingOf(stored);
  const after = routingOf(plannedState(plan, stored));
  const changedSites = [...new Set([...before.sites.keys(), ...after.sites.keys()])].filter(
    (site) =>
      JSON.stringify(before.sites.get(site) ?? null) !== JSON.stringify(after.sites.get(site) ?? null),
  );
  const devices = new Map<string, ResourceChange>();
  for (const c of plan.changes) if (c.kind === 'Device') devices.set(c.name, c);
  const moves = new Map<string, RelayMove>();
  for (const device of stored) {
    if (device.kind !== 'Device') continue;
    const change = devices.get(device.name);
    if (change?.action === 'delete') continue;
    // A device the plan leaves alone moves only with its site; its image names the site.
    if (!change && !changedSites.some((s) => device.image?.includes(JSON.stringify(s)) ?? true)) continue;
    const from = before.routeOf(device.fields);
    const to = after.routeOf(change?.desired ?? device.fields);
    if (from === to) continue;
    const key = `${from ?? ''}\u0000${to ?? ''}`;
    const move = moves.get(key) ?? { from, to, count: 0, devices: [] };
    move.count++;
    move.devices.push(device.name);
    moves.set(key, move);
  }
  return [...moves.values()]
    .map((m) => ({ ...m, devices: m.devices.sort().slice(0, MOVE_NAMES) }))
    .sort((a, b) => b.count - a.count || String(a.to).localeCompare(String(b.to)));
}

interface Routing {
  /** What decides the route of a site's devices: its relay, and its transport default. */
  sites: Map<string, { relay: string | null; defaults: TransportBlock | null }>;
  routeOf(device: Fields): string | null;
}

function routingOf(resources: readonly ResourceView[]): Routing {
  const relays = siteRelaysOf(resources);
  const sites: Routing['sites'] = new Map();
  for (const r of resources)
    if (r.kind === 'Site') {
      const defaults = (r.fields.defaults as { transport?: TransportBlock } | null)?.transport ?? null;
      sites.set(r.name, { relay: relays.get(r.name) ?? null, defaults });
    }
  return {
    sites,
    routeOf(device) {
      const site = typeof device.site === 'string' ? device.site : DEFAULT_SITE;
      const { block } = effectiveTransport(
        device.transport as TransportBlock | null,
        sites.get(site)?.defaults ?? null,
      );
      return queueRouteOf(block, relays.get(site))?.route ?? null;
    },
  };
}
