import type { CredentialPolicy } from '../credentials/policy.js';
import type { QueueConnection, Secret } from '../plugin/api.js';
import { privateDataFolder } from '../private-files.js';
import { optionsMismatch, optionsValidator } from '../transports/options-validator.js';
import type { QueueRouteConfig } from '../transports/queue-routes.js';
import type { TransportRegistry } from '../transports/registry.js';
import { routeConfigOf } from './queue-routing.js';
import type { QueueKey } from './queue-store.js';
import { resolveSecret } from './secret.js';
import type { DeviceRecord } from './targets.js';

/**
 * Opens the routes of queued transports (a relay's queue) for one command or one rmm serve, once
 * each, and keeps them: the transport found by name in the registry, the route's options checked
 * against its optionsSchema with the AJV that checks device options, the route's credentialRef
 * resolved through the console's allow-list (never shown: errors name the reference).
 */
export interface RouteOpenerOptions {
  registry: TransportRegistry;
  credentials: CredentialPolicy;
  /** The declared routes, by name (transports/queue-routes.ts). */
  routes: ReadonlyMap<string, QueueRouteConfig>;
  /** The devices by name: a device whose own transport is queued is a route (queue-routing.ts). */
  devices?: () => ReadonlyMap<string, DeviceRecord>;
  /** The console's data directory: each transport's stateDir is made under it. */
  dataDir?: string;
  connectTimeoutMs: number;
  signal?: AbortSignal;
}

export type OpenedRoute = { connection: QueueConnection; config: QueueRouteConfig } | { problem: string };

export interface RouteOpener {
  open(key: QueueKey): Promise<OpenedRoute>;
  /** Drops a connection that failed, so the next open() tries again. */
  forget(key: QueueKey): Promise<void>;
  closeAll(): Promise<void>;
}

export function routeOpener(options: RouteOpenerOptions): RouteOpener {
  const opened = new Map<string, Promise<OpenedRoute>>();
  const id = (key: QueueKey) => `${key.transport}/${key.route}`;
  return {
    open(key) {
      let route = opened.get(id(key));
      if (!route) {
        route = openRoute(key, options).catch((error: unknown) => ({
          problem: `${id(key)}: cannot be opened: ${(error as Error).message}`,
        }));
        opened.set(id(key), route);
      }
      return route;
    },
    async forget(key) {
      const route = await opened.get(id(key));
      opened.delete(id(key));
      if (route && 'connection' in route) await route.connection.close().catch(() => {});
    },
    async closeAll() {
      const all = await Promise.all(opened.values());
      opened.clear();
      await Promise.all(
        all.map((r) => ('connection' in r ? r.connection.close().catch(() => {}) : undefined)),
      );
    },
  };
}

async function openRoute(key: QueueKey, options: RouteOpenerOptions): Promise<OpenedRoute> {
  const where = `${key.transport}/${key.route}`;
  const config = routeConfigOf(key, options.routes, options.devices);
  if (!config)
    return {
      problem: `${where}: no such route is declared (rmm get relays lists them) and no device of that transport has that name`,
    };
  if (config.problem) return { problem: `${where}: ${config.problem}` };
  const registered = options.registry.transports.get(key.transport);
  if (!registered)
    return { problem: `${where}: no transport "${key.transport}" is installed (see rmm transports)` };
  const { transport, plugin } = registered;
  if (!transport.capabilities.queued || !transport.queue)
    return { problem: `${where}: plugin ${plugin}: transport "${key.transport}" is not a queued transport` };
  const validate = optionsValidator(transport);
  if (typeof validate === 'string') return { problem: `${where}: plugin ${plugin}: ${validate}` };
  const routeOptions = structuredClone(config.options);
  const why = optionsMismatch(validate, routeOptions, 'options');
  if (why !== undefined)
    return { problem: `${where}: its options do not fit the ${key.transport} transport: ${why}` };
  let secret: Secret | undefined;
  if (config.credentialRef !== undefined) secret = resolveSecret(config.credentialRef, options.credentials);
  const stateDir = options.dataDir && privateDataFolder(options.dataDir, 'transports', key.transport);
  const connection = await transport.queue.open(
    { name: key.route, options: routeOptions, ...(config.device ? { device: config.device } : {}) },
    {
      ...(secret ? { secret } : {}),
      ...(stateDir ? { stateDir } : {}),
      connectTimeoutMs: options.connectTimeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  return { connection, config };
}
