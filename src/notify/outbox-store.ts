import { randomUUID } from 'node:crypto';
import { sqliteTime } from '../actions/schedule.js';
import type { Severity } from '../monitoring/alert-store.js';
import type { Db } from '../state/connection.js';
import type { NotificationContent, NotificationEvent, NotifiedAlert } from './content.js';
import { type LastNotified, lastKey } from './owe.js';
import type { RouteTarget } from './routes.js';

/**
 * The Notifications table (the outbox): every write to it. `owe` runs inside the transaction of the
 * Alerts change that owes the rows (alert-store's raise and resolve call it through their `owes`
 * hook), so a change and its notifications commit together. The deliverer reads due rows and records
 * each attempt here; a delivery marks the row Delivered and appends to the alerts' NotificationsSent
 * in one transaction. docs/notifications.md#delivery.
 */

export type OwedEvent = Exclude<NotificationEvent, 'test'>;
export type NotificationStatus = 'Pending' | 'Delivered' | 'Failed' | 'Expired';

/** Alerts a grouped row carries at most; the next one starts a row of its own. */
export const MAX_GROUP_ALERTS = 1000;

export interface OwedAlert {
  id: string;
  site: string | null;
  source: string;
}

/** A Pending row the deliverer may send. */
export interface DueRow {
  id: string;
  channel: string;
  event: OwedEvent;
  alertIds: string[];
  site: string | null;
  source: string;
  attempts: number;
  createdAt: number;
}

/** What one attempt comes to: the row's next state. */
export type AttemptRecord =
  | { status: 'Delivered'; answer: string }
  | { status: 'Failed' | 'Expired'; answer: string }
  | { status: 'Pending'; answer: string; nextAttemptAt: number };

interface AlertRow {
  AlertId: string;
  DeviceId: string;
  SiteId: string | null;
  Severity: Severity;
  Title: string;
  Message: string | null;
  Source: string;
  Instance: string;
  CreatedAt: string;
  ResolvedAt: string | null;
}

const RANK: Record<Severity, number> = { Info: 0, Warning: 1, Critical: 2 };

export function groupKey(site: string | null, source: string, channel: string, event: OwedEvent): string {
  return JSON.stringify([site, source, channel, event]);
}

/**
 * Rows edited by hand: a Notifications.AlertIds that is not JSON reads as no alerts (such a row is
 * never due), and an Alerts.NotificationsSent that is not a JSON array is left as it is, so one bad
 * row never rolls back a batch of outcomes (which would send the batch again every tick).
 */
const ALERT_IDS_OR_NONE = "CASE WHEN json_valid(n.AlertIds) THEN n.AlertIds ELSE '[]' END";

export function outboxStore(db: Db, options: { newId?: () => string } = {}) {
  const newId = options.newId ?? randomUUID;
  const openGroup = db
    .prepare(
      `SELECT NotificationId FROM Notifications
       WHERE GroupKey = ? AND Status = 'Pending' AND ReadyAt > ? AND Attempts = 0
         AND json_array_length(AlertIds) < ?
       ORDER BY ReadyAt LIMIT 1`,
    )
    .pluck();
  const join = db.prepare(
    `UPDATE Notifications SET AlertIds = json_insert(AlertIds, '$[#]', ?) WHERE NotificationId = ?`,
  );
  const insert = db.prepare(
    `INSERT INTO Notifications (NotificationId, Channel, Route, Event, AlertIds, GroupKey, Site, Source,
       CreatedAt, ReadyAt, NextAttemptAt)
     VALUES (?, ?, ?, ?, json_array(?), ?, ?, ?, ?, ?, ?)`,
  );
  const dueRows = db.prepare(
    `SELECT NotificationId, Channel, Event, AlertIds, Site, Source, Attempts, CreatedAt FROM (
       SELECT *, row_number() OVER (PARTITION BY Channel ORDER BY NextAttemptAt, rowid) AS Nth
       FROM Notifications WHERE Status = 'Pending' AND NextAttemptAt <= ? AND json_valid(AlertIds))
     WHERE Nth <= ? ORDER BY NextAttemptAt`,
  );
  const alertsOf = db.prepare(
    `SELECT a.AlertId, a.DeviceId, d.SiteId, a.Severity, a.Title, a.Message, a.Source, a.Instance,
       a.CreatedAt, a.ResolvedAt
     FROM json_each(?) j JOIN Alerts a ON a.AlertId = j.value LEFT JOIN Devices d ON d.DeviceId = a.DeviceId
     ORDER BY a.CreatedAt, a.rowid`,
  );
  const finish = db.prepare(
    `UPDATE Notifications SET Status = ?, Attempts = Attempts + 1, LastAttemptAt = ?, LastAnswer = ?,
       DeliveredAt = ?, NextAttemptAt = ?
     WHERE NotificationId = ? AND Status = 'Pending'`,
  );
  const sentTo = db.prepare(
    `UPDATE Alerts SET NotificationsSent = json_insert(coalesce(NotificationsSent, '[]'), '$[#]', json(?))
     WHERE AlertId IN (SELECT value FROM json_each(?))
       AND CASE WHEN NotificationsSent IS NULL THEN 1
         WHEN json_valid(NotificationsSent) THEN json_type(NotificationsSent) = 'array' ELSE 0 END`,
  );
  const lastRows = db.prepare(
    `SELECT j.value AS AlertId, n.Channel, max(n.CreatedAt) AS Last, max(n.Status = 'Pending') AS Pending
     FROM Notifications n, json_each(${ALERT_IDS_OR_NONE}) j
     WHERE n.Event IN ('fire', 'repeat') AND n.Channel IN (SELECT value FROM json_each(?))
       AND j.value IN (SELECT AlertId FROM Alerts WHERE ResolvedAt IS NULL)
     GROUP BY 1, 2`,
  );
  const forget = db.prepare(
    `DELETE FROM Notifications WHERE rowid IN (
       SELECT rowid FROM Notifications WHERE Status <> 'Pending' AND CreatedAt < ? LIMIT ?)`,
  );
  const rowOf = db.prepare('SELECT Channel, Event, AlertIds FROM Notifications WHERE NotificationId = ?');

  const recordOne = (id: string, attempt: AttemptRecord, now: number): boolean => {
    const next = attempt.status === 'Pending' ? attempt.nextAttemptAt : now;
    const delivered = attempt.status === 'Delivered' ? now : null;
    const { changes } = finish.run(attempt.status, now, attempt.answer, delivered, next, id);
    if (changes === 0 || attempt.status !== 'Delivered') return changes > 0;
    const row = rowOf.get(id) as { Channel: string; Event: string; AlertIds: string };
    const entry = { channel: row.Channel, event: row.Event, at: sqliteTime(new Date(now)), notification: id };
    sentTo.run(JSON.stringify(entry), row.AlertIds);
    return true;
  };

  return {
    /**
     * Owes `event` about `alert` to each target: the alert joins a Pending row of the same group key
     * that is not ready yet, or starts one ready at now + the route's groupWait. Call inside the
     * alert change's transaction. Returns the rows' ids.
     */
    owe(alert: OwedAlert, event: OwedEvent, targets: readonly RouteTarget[], now: number): string[] {
      const ids: string[] = [];
      for (const target of targets) {
        const key = groupKey(alert.site, alert.source, target.channel, event);
        const open =
          target.groupWaitMs > 0
            ? (openGroup.get(key, now, MAX_GROUP_ALERTS) as string | undefined)
            : undefined;
        if (open !== undefined) {
          join.run(alert.id, open);
          ids.push(open);
          continue;
        }
        const id = newId();
        const ready = now + target.groupWaitMs;
        insert.run(
          id,
          target.channel,
          target.route,
          event,
          alert.id,
          key,
          alert.site,
          alert.source,
          now,
          ready,
          ready,
        );
        ids.push(id);
      }
      return ids;
    },

    /**
     * For the open alerts, the last fire or repeat owed on each of these channels, and whether one is
     * still Pending: what repeats are computed from (owe.ts dueRepeats).
     */
    lastNotified(channels: readonly string[]): Map<string, LastNotified> {
      const last = new Map<string, LastNotified>();
      if (channels.length === 0) return last;
      for (const r of lastRows.all(JSON.stringify(channels)) as Array<{
        AlertId: string;
        Channel: string;
        Last: number;
        Pending: number;
      }>)
        last.set(lastKey(r.AlertId, r.Channel), { at: r.Last, pending: r.Pending === 1 });
      return last;
    },

    /**
     * Pending rows whose next attempt (at or after their ready time) has come, oldest due first, at
     * most `perChannel` of each channel: a channel with a backlog never hides another's rows.
     */
    due(now: number, perChannel: number): DueRow[] {
      return (
        dueRows.all(now, perChannel) as Array<{
          NotificationId: string;
          Channel: string;
          Event: OwedEvent;
          AlertIds: string;
          Site: string | null;
          Source: string;
          Attempts: number;
          CreatedAt: number;
        }>
      ).map((r) => ({
        id: r.NotificationId,
        channel: r.Channel,
        event: r.Event,
        alertIds: JSON.parse(r.AlertIds) as string[],
        site: r.Site,
        source: r.Source,
        attempts: r.Attempts,
        createdAt: r.CreatedAt,
      }));
    },

    /** What the row says, from its alerts as they are now; null when every alert is gone (device pruned). */
    content(row: DueRow): NotificationContent | null {
      const alerts = (alertsOf.all(JSON.stringify(row.alertIds)) as AlertRow[]).map(notifiedAlert);
      if (alerts.length === 0) return null;
      const severity = alerts.reduce<Severity>(
        (top, a) => (RANK[a.severity] > RANK[top] ? a.severity : top),
        'Info',
      );
      return {
        id: row.id,
        event: row.event,
        channel: row.channel,
        group: { site: row.site, source: row.source },
        severity,
        alerts,
        createdAt: row.createdAt,
      };
    },

    /**
     * Deletes at most `limit` finished rows (Delivered, Failed, Expired) owed before `cutoff`; a
     * Pending row is never deleted, whatever its age. Returns how many went.
     */
    forgetOlderThan(cutoff: number, limit: number): number {
      return forget.run(cutoff, limit).changes;
    },

    /**
     * Attempts' outcomes, in one transaction (the deliverer batches them: a commit per row was most of
     * a storm's cost). Delivered also appends {channel, event, at, notification} to each alert's
     * NotificationsSent in that transaction. A row that is no longer Pending is left alone (false).
     */
    recordMany: db.transaction(
      (attempts: ReadonlyArray<{ id: string; attempt: AttemptRecord }>, now: number) =>
        attempts.map(({ id, attempt }) => recordOne(id, attempt, now)),
    ).immediate,
  };
}

export type OutboxStore = ReturnType<typeof outboxStore>;

function notifiedAlert(row: AlertRow): NotifiedAlert {
  return {
    id: row.AlertId,
    device: row.DeviceId,
    site: row.SiteId,
    severity: row.Severity,
    title: row.Title,
    message: row.Message,
    source: row.Source,
    instance: row.Instance,
    createdAt: row.CreatedAt,
    resolvedAt: row.ResolvedAt,
  };
}
