import type { AlertStore } from '../monitoring/alert-store.js';
import { type AlertKey, alertKeyString, type Transition } from '../monitoring/alert-transitions.js';
import type { RetryOptions } from '../monitoring/busy-retry.js';
import { retryWhileBusy } from '../monitoring/busy-retry.js';
import type { MetricStore } from '../monitoring/metric-store.js';
import { DEVICE_OFFLINE } from '../monitoring/monitors.js';
import { writeSamples } from '../monitoring/sample-writer.js';
import type { Sample } from '../monitoring/samples.js';
import type { AlertSink, SampleSink } from './monitoring-sinks.js';
import type { ServiceLog } from './service-log.js';

/**
 * rmm serve's sinks: samples into the Metrics table, alert transitions into the Alerts table. Another
 * writer holding the database's write lock past every retry never crashes a cycle: what could not be
 * written is logged and kept for the next cycle, within a bound (past it the oldest is dropped, and
 * the log says how much).
 */

/** Samples kept for the next cycle when a lock kept them out: about ten minutes of 10,000 devices x 10 metrics. */
export const MAX_HELD_SAMPLES = 1_000_000;
/** Alert changes kept likewise. */
export const MAX_HELD_TRANSITIONS = 10_000;

/** ResolvedBy of an alert the service resolved: its condition cleared, or its monitor went away. */
export const RESOLVED_BY = {
  cleared: 'rmm serve',
  'monitor-removed': 'rmm serve (monitor removed)',
} as const;

export function storedSampleSink(
  store: MetricStore,
  options: RetryOptions & { log: ServiceLog; maxHeld?: number },
): SampleSink & { held(): number } {
  const maxHeld = options.maxHeld ?? MAX_HELD_SAMPLES;
  let held: Sample[] = [];
  return {
    held: () => held.length,
    async write(samples) {
      const outcome = await writeSamples(store, held.length ? [...held, ...samples] : samples, options);
      if (outcome.refused.length > 0)
        options.log.warn(
          { refused: outcome.refused.length, reason: outcome.refused[0]?.reason },
          `${outcome.refused.length} samples could not be stored`,
        );
      held = outcome.unwritten;
      const dropped = held.length - maxHeld;
      if (dropped > 0) {
        held = held.slice(dropped);
        options.log.warn(
          { dropped },
          `${dropped} samples kept from earlier cycles were dropped (bound ${maxHeld})`,
        );
      }
      if (held.length > 0)
        options.log.warn(
          { unwritten: held.length },
          `another writer held the database's write lock through every retry; ${held.length} samples kept for the next cycle`,
        );
    },
  };
}

/** The key of a stored alert: Source is `policy/monitor`, or `rmm/device-offline`. */
export function alertKeyOf(row: { device: string; source: string; instance: string }): AlertKey {
  if (row.source === 'rmm/device-offline')
    return {
      device: row.device,
      policy: DEVICE_OFFLINE.policy,
      monitor: DEVICE_OFFLINE.name,
      instance: row.instance,
    };
  const slash = row.source.indexOf('/');
  return {
    device: row.device,
    policy: row.source.slice(0, slash),
    monitor: row.source.slice(slash + 1),
    instance: row.instance,
  };
}

export function storedAlertSink(
  store: AlertStore,
  options: RetryOptions & { actor: string; log: ServiceLog; maxHeld?: number },
): AlertSink & { held(): number } {
  const maxHeld = options.maxHeld ?? MAX_HELD_TRANSITIONS;
  const { log } = options;
  /** Open alerts by key string: filled from the store at start and by each raise. */
  const ids = new Map<string, { id: string; key: AlertKey }>();
  let held: Transition[] = [];

  const applyOne = (t: Transition): void => {
    const key = alertKeyString(t.key);
    if (t.kind === 'fire') {
      const raised = store.raise(
        {
          device: t.key.device,
          alertType: t.alertType,
          severity: t.severity,
          title: t.title,
          message: t.message,
          source: t.source,
          instance: t.key.instance,
        },
        options.actor,
      );
      if (raised.outcome === 'unknown-device') return;
      ids.set(key, { id: raised.id, key: t.key });
      if (raised.outcome === 'raised')
        log.warn({ alert: raised.id, device: t.key.device, severity: t.severity, source: t.source }, t.title);
      return;
    }
    const id = ids.get(key)?.id;
    if (id === undefined) return;
    // An operator may have resolved it already (not-open): either way it is closed now.
    store.resolve(id, { by: RESOLVED_BY[t.reason], auto: true });
    ids.delete(key);
    log.info({ alert: id, device: t.key.device, reason: t.reason }, t.message);
  };

  return {
    held: () => held.length,
    open() {
      ids.clear();
      return store.open().map((row) => {
        const key = alertKeyOf(row);
        ids.set(alertKeyString(key), { id: row.id, key });
        return key;
      });
    },
    closedElsewhere() {
      const open = new Set(store.open().map((row) => row.id));
      const closed: AlertKey[] = [];
      for (const [name, alert] of ids) {
        if (open.has(alert.id)) continue;
        closed.push(alert.key);
        ids.delete(name);
      }
      return closed;
    },
    async apply(transitions) {
      const queue = held.length ? [...held, ...transitions] : transitions;
      held = [];
      for (let i = 0; i < queue.length; i++) {
        const t = queue[i] as Transition;
        const done = await retryWhileBusy(() => applyOne(t), options);
        if (done.written) continue;
        held = queue.slice(i);
        const dropped = held.length - maxHeld;
        if (dropped > 0) held = held.slice(dropped);
        log.warn(
          { unwritten: held.length, dropped: Math.max(0, dropped) },
          `another writer held the database's write lock through every retry; ${held.length} alert changes kept for the next cycle`,
        );
        return;
      }
    },
  };
}
