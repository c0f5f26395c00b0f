import type { TransportBlock } from './effective-transport.js';

/** The transport of the queued routes that relays serve (a Relay's `spec.nats` is one of its routes). */
export const RELAY_TRANSPORT = 'relay';

/** A device reached through a queued transport's route rather than by the console itself. */
export interface QueueRoute {
  transport: string;
  route: string;
}

/**
 * The relay each site is served by: its `spec.relay`, when that names a Relay among `resources`
 * (a site naming one not declared yet, as the examples did before the kind existed, has none).
 * Pure: deviceRecordsOf, `rmm get devices` and plan's relay moves read stored or planned state here.
 */
export function siteRelaysOf(
  resources: Iterable<{ kind: string; name: string; fields: Record<string, unknown> }>,
): Map<string, string> {
  const relays = new Set<string>();
  const named = new Map<string, string>();
  for (const r of resources) {
    if (r.kind === 'Relay') relays.add(r.name);
    else if (r.kind === 'Site' && typeof r.fields.relay === 'string') named.set(r.name, r.fields.relay);
  }
  for (const [site, relay] of named) if (!relays.has(relay)) named.delete(site);
  return named;
}

/**
 * How a device is reached, given the block it connects with (its own over its site's default,
 * transports/effective-transport.ts) and its site's relay: through the relay unless the block says
 * `via: direct`; directly (null) when the site has no relay.
 */
export function queueRouteOf(block: TransportBlock, siteRelay: string | undefined): QueueRoute | null {
  if (siteRelay === undefined || block.via === 'direct') return null;
  return { transport: RELAY_TRANSPORT, route: siteRelay };
}
