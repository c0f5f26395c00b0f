import fc from 'fast-check';
import { alertStore } from '../../src/monitoring/alert-store.js';
import { metricStore } from '../../src/monitoring/metric-store.js';
import { deviceHealth } from '../../src/service/monitoring-sinks.js';
import type { Db } from '../../src/state/connection.js';

/**
 * What `rmm serve` writes into the database beside an apply, through its own modules and its own
 * connection: Devices.Status and LastSeen (deviceHealth), Metrics rows (the metric store) and Alerts
 * rows (the alert store). Its fleet may be stale, so it also writes for devices an apply has just
 * removed or not yet created; the stores refuse those, and nothing may throw.
 */
export interface Observation {
  device: string;
  reachable: boolean;
  value: number;
  alert: 'raise' | 'resolve' | 'acknowledge' | 'none';
}

export const observations = (devices: readonly string[]) =>
  fc.array(
    fc.record({
      device: fc.constantFrom(...devices),
      reachable: fc.boolean(),
      value: fc.integer({ min: 0, max: 100 }),
      alert: fc.constantFrom('raise', 'resolve', 'acknowledge', 'none'),
    }),
    { maxLength: 6 },
  ) as fc.Arbitrary<Observation[]>;

export function observedWriter(db: Db) {
  let now = Date.UTC(2026, 0, 1);
  const clock = () => now;
  const health = deviceHealth(db);
  const metrics = metricStore(db);
  const alerts = alertStore(db, { now: clock });
  return (list: readonly Observation[]): void => {
    for (const o of list) {
      now += 1000;
      health.record([{ device: o.device, reachable: o.reachable, at: now }]);
      metrics.insertBatch([
        { device: o.device, metric: 'cpu.percent', labels: {}, value: o.value, at: now },
        { device: o.device, metric: 'disk.used_percent', labels: { mount: '/' }, value: o.value, at: now },
      ]);
      const alert = {
        device: o.device,
        alertType: 'monitor',
        severity: 'Warning',
        title: 'cpu',
        message: `cpu.percent is ${o.value}`,
        source: 'p1/cpu',
        instance: '',
      } as const;
      const open = alerts.open().find((a) => a.device === o.device);
      if (o.alert === 'raise') alerts.raise(alert, 'rmm-serve');
      else if (o.alert === 'resolve' && open) alerts.resolve(open.id, { by: 'rmm-serve', auto: true });
      else if (o.alert === 'acknowledge' && open) alerts.acknowledge(open.id, { by: 'operator' });
    }
  };
}

export interface ObservedState {
  devices: Map<string, { Status: string; LastSeen: string | null }>;
  metrics: Array<Record<string, unknown>>;
  alerts: Array<Record<string, unknown>>;
}

/** Everything the writer may have written, as rows. */
export function observedState(db: Db): ObservedState {
  const devices = db.prepare('SELECT DeviceId, Status, LastSeen FROM Devices').all() as Array<{
    DeviceId: string;
    Status: string;
    LastSeen: string | null;
  }>;
  return {
    devices: new Map(devices.map((d) => [d.DeviceId, { Status: d.Status, LastSeen: d.LastSeen }])),
    metrics: db.prepare('SELECT * FROM Metrics ORDER BY MetricId').all() as Array<Record<string, unknown>>,
    alerts: db.prepare('SELECT * FROM Alerts ORDER BY AlertId').all() as Array<Record<string, unknown>>,
  };
}
