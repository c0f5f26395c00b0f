import { DEFAULT_ACTION_EXPIRY_SECONDS, type QueueRouteConfig } from '../transports/queue-routes.js';
import type { TransportRegistry } from '../transports/registry.js';
import type { QueueKey } from './queue-store.js';
import type { DeviceRecord } from './targets.js';

/**
 * Which queue, if any, carries a device's actions. Two kinds of route:
 * - a declared route (a Relay), set on the device record as `queue` (its site's relay);
 * - the device itself, when its own transport is a queued one (the SMB file queue of issue 15):
 *   route name = device name, route options = its transport block without the core's keys, the
 *   secret from its own credentialRef.
 * A device whose own transport is queued goes through it even at a site with a relay: a relay runs
 * actions over sessions (connect()), which a queued transport has not.
 */

/** Whether a transport type is a queued one (capabilities.queued, with its queue). */
export type IsQueued = (transportType: unknown) => boolean;

export function queuedTransports(registry: TransportRegistry): IsQueued {
  return (type) => {
    if (typeof type !== 'string') return false;
    const transport = registry.transports.get(type)?.transport;
    return transport?.capabilities.queued === true && transport.queue !== undefined;
  };
}

export function queueKeyOf(device: DeviceRecord | undefined, isQueued: IsQueued): QueueKey | undefined {
  if (!device) return undefined;
  const type = device.transport.type;
  if (isQueued(type)) return { transport: type as string, route: device.name };
  if (device.queue) return { transport: device.queue.transport, route: device.queue.route };
  return undefined;
}

/**
 * The routes that are devices (every device whose own transport is queued): collected even when no
 * action waits there, for the heartbeat that gives the device its LastSeen.
 */
export function deviceRouteKeys(devices: Iterable<DeviceRecord>, isQueued: IsQueued): QueueKey[] {
  const keys: QueueKey[] = [];
  for (const device of devices)
    if (isQueued(device.transport.type))
      keys.push({ transport: device.transport.type as string, route: device.name });
  return keys;
}

/** The keys of a transport block that are the core's, not the plugin's options. */
const CORE_KEYS = new Set(['type', 'credentialRef', 'via']);

/**
 * A device's own route: its transport block as the route's options, its credentialRef as the secret,
 * and the device itself (its address is where the queue is unless the block says otherwise).
 */
export function deviceRouteConfig(device: DeviceRecord): QueueRouteConfig {
  const options = Object.fromEntries(Object.entries(device.transport).filter(([key]) => !CORE_KEYS.has(key)));
  const ref = device.transport.credentialRef;
  return {
    transport: String(device.transport.type),
    name: device.name,
    options,
    ...(typeof ref === 'string' ? { credentialRef: ref } : {}),
    expirySeconds: DEFAULT_ACTION_EXPIRY_SECONDS,
    device: { name: device.name, host: device.host, os: device.os },
  };
}

/** The route a key names: a declared one of that transport, else a device of that transport type. */
export function routeConfigOf(
  key: QueueKey,
  declared: ReadonlyMap<string, QueueRouteConfig>,
  devices: (() => ReadonlyMap<string, DeviceRecord>) | undefined,
): QueueRouteConfig | undefined {
  const route = declared.get(key.route);
  if (route && route.transport === key.transport) return route;
  const device = devices?.().get(key.route);
  if (device && device.transport.type === key.transport) return deviceRouteConfig(device);
  return undefined;
}
