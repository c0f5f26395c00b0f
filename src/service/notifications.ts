import type { AlertStore } from '../monitoring/alert-store.js';
import type { Sender } from '../notify/content.js';
import type { Deliverer } from '../notify/deliverer.js';
import type { OutboxStore } from '../notify/outbox-store.js';
import { dueRepeats, type RoutingState } from '../notify/owe.js';
import { deviceScope, repeatEveryMs } from '../notify/routes.js';
import type { Db } from '../state/connection.js';
import type { Fleet } from './fleet.js';
import type { ServiceLog } from './service-log.js';

/**
 * rmm serve's notification step, beside the monitoring cycle: each tick it owes the repeats that are
 * due (at most once a minute), lets the deliverer start what is due, and (hourly) deletes finished
 * rows past retention. What a fire or resolve owes
 * is written by the alert store itself, in the alert's transaction (notify/owe.ts oweToOutbox).
 */

/** How often open alerts are checked for a repeat: repeatEvery is counted in minutes and hours. */
export const REPEAT_CHECK_MS = 60_000;
/** Finished rows older than the service's retention are deleted at most this often, this many a pass. */
export const OUTBOX_RETENTION_EVERY_MS = 60 * 60_000;
export const OUTBOX_RETENTION_ROWS = 10_000;

const routings = new WeakMap<Fleet, RoutingState>();

/**
 * What routing reads of the fleet: its routes, and each device's site, groups with ancestors and
 * labels; built once per fleet (each alert change asks).
 */
export function routingOf(fleet: Fleet | undefined): RoutingState | undefined {
  if (!fleet) return undefined;
  let routing = routings.get(fleet);
  if (!routing) {
    routing = routingFrom(fleet);
    routings.set(fleet, routing);
  }
  return routing;
}

function routingFrom(fleet: Fleet): RoutingState {
  const devices = new Map(fleet.devices.map((d) => [d.name, d]));
  const scopes = new Map<string, ReturnType<typeof deviceScope>>();
  return {
    routes: fleet.routes,
    scopeOf(name) {
      let scope = scopes.get(name);
      const device = devices.get(name);
      if (!scope && device) {
        scope = deviceScope(device, fleet.parentOf);
        scopes.set(name, scope);
      }
      return scope;
    },
  };
}

/** The senders of the fleet's channels, built once per fleet (per state revision). */
export function sendersOf(
  build: (name: string, fleet: Fleet) => Sender | undefined,
  fleet: () => Fleet | undefined,
) {
  let built: { fleet: Fleet; senders: Map<string, Sender | undefined> } | undefined;
  return (channel: string): Sender | undefined => {
    const current = fleet();
    if (!current) return undefined;
    if (built?.fleet !== current) built = { fleet: current, senders: new Map() };
    if (!built.senders.has(channel)) built.senders.set(channel, build(channel, current));
    return built.senders.get(channel);
  };
}

export interface NotificationStepOptions {
  db: Db;
  outbox: OutboxStore;
  alerts: AlertStore;
  deliverer: Deliverer;
  routing: () => RoutingState | undefined;
  maintenanceOf: (device: string, atMs: number) => string | null;
  log: ServiceLog;
  /** Finished rows (Delivered, Failed, Expired) are kept this many days (rmm serve's --retention-days). */
  keepDays: number;
}

export class NotificationStep {
  #nextRepeatCheck = Number.NEGATIVE_INFINITY;
  #nextForget = Number.NEGATIVE_INFINITY;
  readonly #o: NotificationStepOptions;

  constructor(options: NotificationStepOptions) {
    this.#o = options;
  }

  /** Owes due repeats (throws on a database error, which the service logs), then starts due sends. */
  tick(now: number): void {
    if (now >= this.#nextRepeatCheck) {
      this.#nextRepeatCheck = now + REPEAT_CHECK_MS;
      const owed = this.#oweRepeats(now);
      if (owed > 0) this.#o.log.info({ repeats: owed }, `${owed} open alerts are owed a repeat notification`);
    }
    this.#o.deliverer.pump(true);
    if (now >= this.#nextForget) {
      const gone = this.#o.outbox.forgetOlderThan(now - this.#o.keepDays * 86_400_000, OUTBOX_RETENTION_ROWS);
      // A pass that hit its bound goes on at the next tick rather than in an hour.
      this.#nextForget = gone < OUTBOX_RETENTION_ROWS ? now + OUTBOX_RETENTION_EVERY_MS : now;
      if (gone > 0)
        this.#o.log.info({ deleted: gone }, `deleted ${gone} finished notifications past retention`);
    }
  }

  /** Everything due now, sent and waited for (rmm serve --once). */
  deliverDue(): Promise<void> {
    return this.#o.deliverer.deliverDue();
  }

  stop(): Promise<void> {
    return this.#o.deliverer.stop();
  }

  #oweRepeats(now: number): number {
    const routing = this.#o.routing();
    if (!routing) return 0;
    const channels = [
      ...new Set(
        routing.routes.filter((r) => repeatEveryMs(r.spec) !== undefined).flatMap((r) => r.spec.channels),
      ),
    ];
    if (channels.length === 0) return 0;
    const { outbox, alerts } = this.#o;
    return this.#o.db
      .transaction(() => {
        const due = dueRepeats(alerts.open(), outbox.lastNotified(channels), routing, {
          now,
          maintenanceOf: this.#o.maintenanceOf,
        });
        for (const { alert, site, target } of due)
          outbox.owe({ id: alert.id, site, source: alert.source }, 'repeat', [target], now);
        return due.length;
      })
      .immediate();
  }
}
