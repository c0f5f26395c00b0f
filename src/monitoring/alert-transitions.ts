import type { EffectiveMonitor } from './monitors.js';

/**
 * What evaluation hands to whoever keeps alerts (the Alerts table, a log): plain data, one value per
 * change of an alert's life. An alert is named by its key, never by a row id, so a restarted
 * evaluator and the store agree on which alert a transition is about.
 */

/** One alert per (device, policy, monitor, instance); instance is the series' canonical labels. */
export interface AlertKey {
  device: string;
  policy: string;
  monitor: string;
  instance: string;
}

/** A monitor's condition held for its `for`: write ONE Alerts row. */
export interface FireTransition {
  kind: 'fire';
  key: AlertKey;
  /** Alerts.AlertType. */
  alertType: 'monitor' | 'device-offline';
  severity: EffectiveMonitor['severity'];
  title: string;
  /** Names the value and the threshold. */
  message: string;
  /** Alerts.Source: `policy/monitor`, or `rmm/device-offline`. */
  source: string;
  metric: string;
  op: EffectiveMonitor['op'];
  threshold: number;
  /** The sample that completed the hold. */
  value: number;
  at: number;
}

/**
 * The alert's end: `cleared` when its condition cleared and the monitor resolves automatically
 * (or the device answered again), `monitor-removed` when no monitor of that policy and name (with
 * the same metric and match) applies to the device any more.
 */
export interface ResolveTransition {
  kind: 'resolve';
  key: AlertKey;
  reason: 'cleared' | 'monitor-removed';
  message: string;
  /** The sample that cleared it; null when the monitor was removed before any was seen. */
  value: number | null;
  at: number;
}

export type Transition = FireTransition | ResolveTransition;

/** An alert the evaluator holds open; `clearedAt` when its condition cleared but an operator must resolve it. */
export interface OpenAlert {
  key: AlertKey;
  /** Undefined for an alert rebuilt at start from the store. */
  firedAt: number | undefined;
  clearedAt: number | undefined;
}

/** A string that names an alert key, for maps and sets. */
export function alertKeyString(key: AlertKey): string {
  return `${key.device}\u0000${key.policy}\u0000${key.monitor}\u0000${key.instance}`;
}
