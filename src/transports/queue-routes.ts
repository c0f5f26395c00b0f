import { durationSeconds } from '../duration.js';
import type { ResourceView } from '../engine/resource-view.js';
import type { EnrollmentDevice } from '../plugin/api.js';
import type { Db } from '../state/connection.js';
import { readStoredResources } from '../state/resource-store.js';
import { RELAY_TRANSPORT } from './device-route.js';

/**
 * The routes of queued transports, as declared: today one per `Relay` resource (transport `relay`).
 * A route's `options` are what the transport's optionsSchema validates (the Relay's `spec.nats`
 * without `credentialRef`); `credentialRef` is the console's own credential for the queue, a
 * reference only, resolved when the queue is opened.
 */
export interface QueueRouteConfig {
  transport: string;
  name: string;
  options: Record<string, unknown>;
  credentialRef?: string;
  /** How long an action queued through the route may wait before it expires (default 24 h). */
  expirySeconds: number;
  /** A device route's device (queue-routing.ts), handed to the transport as QueueRoute.device. */
  device?: EnrollmentDevice;
  /** Why the stored route cannot be used (a row edited outside rmm); the route is not opened. */
  problem?: string;
}

export const DEFAULT_ACTION_EXPIRY_SECONDS = 24 * 3600;

/** The routes of a set of resources (stored rows, or a plan's state after apply), by route name. */
export function queueRoutesOf(resources: readonly ResourceView[]): Map<string, QueueRouteConfig> {
  const routes = new Map<string, QueueRouteConfig>();
  for (const r of resources) {
    if (r.kind !== 'Relay') continue;
    const nats = r.fields.nats;
    const { credentialRef, ...options } = isPlainObject(nats) ? nats : {};
    const expiry =
      typeof r.fields.actionExpiry === 'string' ? durationSeconds(r.fields.actionExpiry) : undefined;
    // Apply writes both as the schema says; anything else was edited outside rmm (plan shows it).
    const problem = !isPlainObject(nats)
      ? 'its stored nats block is not an object (the Relays row was edited outside rmm: rmm plan shows it, rmm apply restores it)'
      : r.fields.actionExpiry !== undefined && r.fields.actionExpiry !== null && expiry === undefined
        ? `its stored actionExpiry ${JSON.stringify(r.fields.actionExpiry)} is not a duration (the Relays row was edited outside rmm: rmm plan shows it, rmm apply restores it)`
        : undefined;
    routes.set(r.name, {
      transport: RELAY_TRANSPORT,
      name: r.name,
      options,
      ...(typeof credentialRef === 'string' ? { credentialRef } : {}),
      expirySeconds: expiry ?? DEFAULT_ACTION_EXPIRY_SECONDS,
      ...(problem ? { problem } : {}),
    });
  }
  return routes;
}

export function readQueueRoutes(db: Db): Map<string, QueueRouteConfig> {
  return queueRoutesOf(readStoredResources(db));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
