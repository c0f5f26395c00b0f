import type { Db } from '../state/connection.js';
import type { NotificationStatus, OwedEvent } from './outbox-store.js';

/**
 * Reading the outbox for people (never writes): the notifications of one alert (rmm alerts show),
 * and the outbox by channel with its last failure (rmm status).
 */

export interface NotificationRow {
  id: string;
  channel: string;
  route: string;
  event: OwedEvent;
  status: NotificationStatus;
  attempts: number;
  /** How many alerts it carries (grouped). */
  alerts: number;
  createdAt: number;
  readyAt: number;
  nextAttemptAt: number;
  lastAttemptAt: number | null;
  lastAnswer: string | null;
  deliveredAt: number | null;
}

interface Row {
  NotificationId: string;
  Channel: string;
  Route: string;
  Event: OwedEvent;
  Status: NotificationStatus;
  Attempts: number;
  Alerts: number;
  CreatedAt: number;
  ReadyAt: number;
  NextAttemptAt: number;
  LastAttemptAt: number | null;
  LastAnswer: string | null;
  DeliveredAt: number | null;
}

/** The notifications that carry an alert, oldest first (a scan of the outbox: for one alert at a time). */
export function notificationsOfAlert(db: Db, alertId: string, limit = 100): NotificationRow[] {
  const rows = db
    .prepare(
      `SELECT *, json_array_length(AlertIds) AS Alerts FROM Notifications
       WHERE EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(AlertIds) THEN AlertIds ELSE '[]' END) WHERE value = ?)
       ORDER BY CreatedAt, rowid LIMIT ?`,
    )
    .all(alertId, limit) as Row[];
  return rows.map((r) => ({
    id: r.NotificationId,
    channel: r.Channel,
    route: r.Route,
    event: r.Event,
    status: r.Status,
    attempts: r.Attempts,
    alerts: r.Alerts,
    createdAt: r.CreatedAt,
    readyAt: r.ReadyAt,
    nextAttemptAt: r.NextAttemptAt,
    lastAttemptAt: r.LastAttemptAt,
    lastAnswer: r.LastAnswer,
    deliveredAt: r.DeliveredAt,
  }));
}

export interface OutboxSummary {
  /** Per channel: rows Pending, Failed and Expired (Delivered ones are history). */
  channels: Record<string, { pending: number; failed: number; expired: number }>;
  /** The latest attempt that did not deliver: a Failed or Expired row, or a Pending one being retried. */
  lastFailure: { channel: string; at: number; status: NotificationStatus; answer: string | null } | null;
}

export function outboxSummary(db: Db): OutboxSummary {
  const channels: OutboxSummary['channels'] = {};
  for (const r of db
    .prepare(
      `SELECT Channel, sum(Status = 'Pending') AS pending, sum(Status = 'Failed') AS failed,
         sum(Status = 'Expired') AS expired
       FROM Notifications WHERE Status <> 'Delivered' GROUP BY Channel ORDER BY Channel`,
    )
    .all() as Array<{ Channel: string; pending: number; failed: number; expired: number }>)
    channels[r.Channel] = { pending: r.pending, failed: r.failed, expired: r.expired };
  const last = db
    .prepare(
      `SELECT Channel, LastAttemptAt, Status, LastAnswer FROM Notifications
       WHERE Status IN ('Failed', 'Expired') OR (Status = 'Pending' AND Attempts > 0)
       ORDER BY LastAttemptAt DESC LIMIT 1`,
    )
    .get() as
    | { Channel: string; LastAttemptAt: number; Status: NotificationStatus; LastAnswer: string | null }
    | undefined;
  return {
    channels,
    lastFailure: last
      ? { channel: last.Channel, at: last.LastAttemptAt, status: last.Status, answer: last.LastAnswer }
      : null,
  };
}
