import {
  type DeviceQueuesStatus,
  deviceQueuesOf,
  type RouteStatus,
  routeStatuses,
} from '../actions/queue-status.js';
import { type OutboxSummary, outboxSummary } from '../notify/outbox-queries.js';
import type { Db } from '../state/connection.js';
import { RELAY_TRANSPORT } from '../transports/device-route.js';
import { readQueueRoutes } from '../transports/queue-routes.js';
import { type Holder, leaseVerdict, readLease } from './service-lease.js';

/**
 * What rmm status shows: whether an rmm serve holds this database, its last monitoring cycle, the
 * devices by Devices.Status, the open alerts by severity and the notifications outbox. Reads only.
 */
export interface ServiceStatus {
  service:
    | { running: true; pid: number; host: string; since: number; heartbeatAt: number }
    | { running: false; note: string };
  lastCycle: { at: number; ms: number; report: unknown } | null;
  /** Online, Offline and Unknown always; any other status as stored. */
  devices: Record<string, number>;
  /** Alerts with no ResolvedAt, by Severity. */
  openAlerts: Record<string, number>;
  /** The outbox: per channel what is pending, failed or expired, and the last failure. */
  notifications: OutboxSummary;
  /** Relays (declared routes of queued transports): connected, last seen, queue depth, oldest queued. */
  relays: RouteStatus[];
  /** Devices that are routes of their own (SMB), summed per transport. */
  deviceQueues: DeviceQueuesStatus[];
}

export function readStatus(db: Db, now: number, me: Holder, alive: (pid: number) => boolean): ServiceStatus {
  const lease = readLease(db);
  const verdict = leaseVerdict(lease, me, now, alive);
  const service: ServiceStatus['service'] =
    lease && verdict.kind === 'held'
      ? {
          running: true,
          pid: lease.Pid,
          host: lease.Host,
          since: lease.StartedAt,
          heartbeatAt: lease.HeartbeatAt,
        }
      : {
          running: false,
          note:
            verdict.kind === 'stale'
              ? `${verdict.why}; the next rmm serve takes over`
              : lease?.StoppedAt != null
                ? `stopped at ${new Date(lease.StoppedAt).toISOString()}`
                : 'rmm serve has never run against this database',
        };
  const lastCycle =
    lease?.LastCycleAt != null
      ? { at: lease.LastCycleAt, ms: lease.LastCycleMs ?? 0, report: parse(lease.LastCycle) }
      : null;
  const devices: Record<string, number> = { Online: 0, Offline: 0, Unknown: 0 };
  for (const row of db
    .prepare("SELECT coalesce(Status, 'Unknown') AS Status, count(*) AS n FROM Devices GROUP BY 1")
    .all() as Array<{ Status: string; n: number }>)
    devices[row.Status] = row.n;
  const openAlerts: Record<string, number> = { Critical: 0, Warning: 0, Info: 0 };
  for (const row of db
    .prepare('SELECT Severity, count(*) AS n FROM Alerts WHERE ResolvedAt IS NULL GROUP BY Severity')
    .all() as Array<{ Severity: string; n: number }>)
    openAlerts[row.Severity] = row.n;
  const declared = [...readQueueRoutes(db).values()].map((r) => ({ transport: r.transport, route: r.name }));
  const routes = routeStatuses(db, declared, now);
  // Routes are declared (Relays, transport relay: queue-routes.ts) or a device's own (SMB), by
  // transport; a relay removed from the YAML with actions still through it stays a relay.
  const declaredTransports = new Set([RELAY_TRANSPORT, ...declared.map((r) => r.transport)]);
  const isRelay = (r: RouteStatus) => declaredTransports.has(r.transport);
  return {
    service,
    lastCycle,
    devices,
    openAlerts,
    notifications: outboxSummary(db),
    relays: routes.filter(isRelay),
    deviceQueues: deviceQueuesOf(routes.filter((r) => !isRelay(r))),
  };
}

function parse(text: string | null): unknown {
  try {
    return text === null ? null : JSON.parse(text);
  } catch {
    return null;
  }
}
