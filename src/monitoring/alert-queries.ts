import type { Db } from '../state/connection.js';
import type { Severity } from './alert-store.js';

/**
 * Reading the Alerts table for `rmm alerts list|show` (never writes; alert-store.ts owns every
 * change). States follow the store's words: an alert is open until it is resolved, acknowledged or
 * not; `acknowledged` is the open alerts someone acknowledged; `resolved` the closed ones.
 */
export const ALERT_STATES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];
export const SEVERITIES: readonly Severity[] = ['Critical', 'Warning', 'Info'];

/** Every column of an Alerts row, NotificationsSent as stored (text, or null). */
export interface AlertDetail {
  id: string;
  device: string;
  alertType: string;
  severity: string;
  title: string;
  message: string | null;
  source: string | null;
  instance: string;
  createdAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  autoResolved: boolean;
  snoozedUntil: string | null;
  /** The maintenance window it was raised or resolved in (it notified nobody then). */
  maintenance: string | null;
  notificationsSent: string | null;
}

export interface AlertFilter {
  /** Only these devices (already resolved from selectors); every device when absent. */
  devices?: readonly string[];
  severities?: readonly string[];
  state: AlertState;
  /** A page: at most this many, newest first. */
  limit: number;
}

const STATE_SQL: Record<AlertState, string> = {
  open: 'ResolvedAt IS NULL',
  acknowledged: 'ResolvedAt IS NULL AND AcknowledgedAt IS NOT NULL',
  resolved: 'ResolvedAt IS NOT NULL',
};

/** The newest `limit` alerts that match, and how many match in all (so a cut page says so). */
export function listAlerts(db: Db, filter: AlertFilter): { alerts: AlertDetail[]; total: number } {
  const where = [STATE_SQL[filter.state]];
  const params: unknown[] = [];
  // Lists travel as one JSON parameter: a selector may name 100,000 devices.
  if (filter.devices) {
    where.push('DeviceId IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.devices));
  }
  if (filter.severities?.length) {
    where.push('Severity IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.severities));
  }
  const clause = where.join(' AND ');
  const total = db
    .prepare(`SELECT count(*) FROM Alerts WHERE ${clause}`)
    .pluck()
    .get(...params) as number;
  const rows = db
    .prepare(`SELECT * FROM Alerts WHERE ${clause} ORDER BY CreatedAt DESC, rowid DESC LIMIT ?`)
    .all(...params, filter.limit) as Row[];
  return { alerts: rows.map(detailOf), total };
}

/** The alert with this id, or those whose id starts with it (at most two: enough to say "ambiguous"). */
export function matchAlerts(db: Db, id: string): AlertDetail[] {
  const exact = db.prepare('SELECT * FROM Alerts WHERE AlertId = ?').get(id) as Row | undefined;
  if (exact) return [detailOf(exact)];
  if (id.length === 0) return [];
  const rows = db
    .prepare('SELECT * FROM Alerts WHERE substr(AlertId, 1, length(?)) = ? LIMIT 2')
    .all(id, id) as Row[];
  return rows.map(detailOf);
}

/** Why an id names no single alert, for messages; undefined when it names one. */
export function alertMatchProblem(id: string, matches: readonly AlertDetail[]): string | undefined {
  if (matches.length === 0) return `no alert ${JSON.stringify(id)}`;
  if (matches.length > 1) return `alert id ${JSON.stringify(id)} is ambiguous: give more of it`;
  return undefined;
}

export interface AlertEvent {
  time: string;
  user: string | null;
  action: string;
  details: unknown;
}

/** What happened to an alert, oldest first: its AuditLog rows (raised, acknowledged with a note, ...). */
export function alertHistory(db: Db, id: string, limit = 100): AlertEvent[] {
  const rows = db
    .prepare(
      'SELECT Timestamp, User, Action, Details FROM AuditLog WHERE Target = ? ORDER BY LogId DESC LIMIT ?',
    )
    .all(`Alert/${id}`, limit) as Array<{
    Timestamp: string;
    User: string | null;
    Action: string;
    Details: string | null;
  }>;
  return rows.reverse().map((r) => ({
    time: r.Timestamp,
    user: r.User,
    action: r.Action,
    details: parseDetails(r.Details),
  }));
}

function parseDetails(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

interface Row {
  AlertId: string;
  DeviceId: string;
  AlertType: string;
  Severity: string;
  Title: string;
  Message: string | null;
  Source: string | null;
  Instance: string;
  CreatedAt: string | null;
  AcknowledgedAt: string | null;
  AcknowledgedBy: string | null;
  ResolvedAt: string | null;
  ResolvedBy: string | null;
  AutoResolved: number | null;
  SnoozedUntil: string | null;
  Maintenance: string | null;
  NotificationsSent: string | null;
}

function detailOf(row: Row): AlertDetail {
  return {
    id: row.AlertId,
    device: row.DeviceId,
    alertType: row.AlertType,
    severity: row.Severity,
    title: row.Title,
    message: row.Message,
    source: row.Source,
    instance: row.Instance,
    createdAt: row.CreatedAt,
    acknowledgedAt: row.AcknowledgedAt,
    acknowledgedBy: row.AcknowledgedBy,
    resolvedAt: row.ResolvedAt,
    resolvedBy: row.ResolvedBy,
    autoResolved: row.AutoResolved === 1,
    snoozedUntil: row.SnoozedUntil,
    maintenance: row.Maintenance,
    notificationsSent: row.NotificationsSent,
  };
}
