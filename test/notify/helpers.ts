import type { AlertStore, NewAlert } from '../../src/monitoring/alert-store.js';
import { alertStore } from '../../src/monitoring/alert-store.js';
import { type OutboxStore, outboxStore } from '../../src/notify/outbox-store.js';
import { oweToOutbox, type RoutingState } from '../../src/notify/owe.js';
import { deviceScope, type NamedRoute } from '../../src/notify/routes.js';
import type { Db } from '../../src/state/connection.js';

/** A clock the test moves by hand. */
export function clock(start: number) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

export const counter = (prefix: string) => {
  let n = 0;
  return () => `${prefix}-${++n}`;
};

/** Devices of site main in group web (below servers), labelled env=prod. */
export function routing(routes: NamedRoute[], devices: readonly string[]): RoutingState {
  const parents = new Map<string, string | null>([
    ['web', 'servers'],
    ['servers', null],
  ]);
  const known = new Set(devices);
  return {
    routes,
    scopeOf: (device) =>
      known.has(device)
        ? deviceScope({ site: 'main', groups: ['web'], labels: { env: 'prod' } }, parents)
        : undefined,
  };
}

/** An alert store that owes notifications to a real outbox on the same database. */
export function storesWithOutbox(
  db: Db,
  options: {
    now: () => number;
    routes: NamedRoute[];
    devices: readonly string[];
    maintenanceOf?: (device: string, atMs: number) => string | null;
  },
): { alerts: AlertStore; outbox: OutboxStore; state: RoutingState } {
  const outbox = outboxStore(db, { newId: counter('n') });
  const state = routing(options.routes, options.devices);
  const alerts = alertStore(db, {
    now: options.now,
    newId: counter('alert'),
    owes: oweToOutbox(outbox, () => state),
    ...(options.maintenanceOf ? { maintenanceOf: options.maintenanceOf } : {}),
  });
  return { alerts, outbox, state };
}

export function cpuAlert(device: string, source = 'linux-baseline/cpu-high'): NewAlert {
  return {
    device,
    alertType: 'monitor',
    severity: 'Critical',
    title: `cpu-high on ${device}`,
    message: 'cpu.usage_percent is 97 (>= 90)',
    source,
    instance: '',
  };
}

export interface OutboxRow {
  NotificationId: string;
  Channel: string;
  Route: string;
  Event: string;
  AlertIds: string;
  Status: string;
  Attempts: number;
  ReadyAt: number;
  NextAttemptAt: number;
  LastAnswer: string | null;
}

export const outboxRows = (db: Db) =>
  db.prepare('SELECT * FROM Notifications ORDER BY CreatedAt, rowid').all() as OutboxRow[];
