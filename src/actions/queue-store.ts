import type { Db } from '../state/connection.js';
import { sqliteTime } from './schedule.js';
import type { ActionResult, ActionRow, ActionStatus } from './store.js';

/**
 * The Actions queue's writes for queued transports (a relay): the delivery intent, Delivered, the
 * reports the far side sends back, expiry. Pending -> Delivered -> Running -> an end, each step a
 * conditional UPDATE, so a step repeated (a report fetched twice, a resubmission) changes nothing.
 *
 * A row is only ever ended by a report from the route it was delivered through; anything else (an
 * ActionId never sent there, one already ended) is written to the AuditLog and changes no row.
 */
export interface QueueKey {
  transport: string;
  route: string;
}

export interface Delivery extends QueueKey {
  actionId: string;
  receipt: string | null;
  expiresAt: string;
  deliveredAt: string | null;
}

/** A row sent (or about to be sent) through a route, with its delivery. */
export interface QueuedRow extends ActionRow {
  Transport: string;
  Route: string;
  Receipt: string | null;
  ExpiresAt: string;
}

/** How long after its expiresAt a Delivered action is ended Expired: covers clocks apart. */
export const EXPIRY_GRACE_MS = 5 * 60_000;

export type Refusal = 'unknown' | 'other-route' | 'ended';

/**
 * The ActionIds Delivered or Running through a route. CROSS JOIN keeps Actions the outer loop, read
 * through its Status index: the few rows in flight. Left to itself SQLite took the route's index on
 * ActionDeliveries and visited every action the route ever carried, once per pass of rmm exec's wait.
 */
export const IN_FLIGHT_SQL = `SELECT a.ActionId FROM Actions a CROSS JOIN ActionDeliveries d ON d.ActionId = a.ActionId
  WHERE a.Status IN ('Delivered', 'Running') AND d.Transport = ? AND d.Route = ?`;

export function queueStore(db: Db, actor: string) {
  const intent = db.prepare(
    `INSERT INTO ActionDeliveries (ActionId, Transport, Route, ExpiresAt) VALUES (?, ?, ?, ?)
     ON CONFLICT (ActionId) DO NOTHING`,
  );
  const toDelivered = db.prepare(
    `UPDATE Actions SET Status = 'Delivered' WHERE ActionId = ? AND Status = 'Pending'`,
  );
  const receipt = db.prepare(
    'UPDATE ActionDeliveries SET Receipt = ?, DeliveredAt = CURRENT_TIMESTAMP WHERE ActionId = ?',
  );
  const unlease = db.prepare('DELETE FROM ActionLeases WHERE ActionId = ?');
  const row = db.prepare(
    `SELECT a.*, d.Transport, d.Route, d.Receipt, d.ExpiresAt FROM Actions a
     JOIN ActionDeliveries d ON d.ActionId = a.ActionId WHERE a.ActionId = ?`,
  );
  const exists = db.prepare('SELECT ActionType, DeviceId, Status FROM Actions WHERE ActionId = ?');
  // A report proves the queue took it, even if its PubAck never reached us (the row stayed Pending).
  const toRunning = db.prepare(
    `UPDATE Actions SET Status = 'Running', StartedAt = coalesce(StartedAt, CURRENT_TIMESTAMP)
     WHERE ActionId = ? AND Status IN ('Pending', 'Delivered')`,
  );
  const toFinal = db.prepare(
    `UPDATE Actions SET Status = ?, Result = ?, CompletedAt = CURRENT_TIMESTAMP,
       StartedAt = coalesce(StartedAt, CURRENT_TIMESTAMP)
     WHERE ActionId = ? AND Status IN ('Pending', 'Delivered', 'Running')`,
  );
  const toWithdrawn = db.prepare(
    `UPDATE Actions SET Status = ?, Result = ?, CompletedAt = CURRENT_TIMESTAMP
     WHERE ActionId = ? AND Status IN ('Pending', 'Delivered')`,
  );
  const audit = db.prepare(
    'INSERT INTO AuditLog (User, Action, Target, Details, Success) VALUES (?, ?, ?, ?, ?)',
  );
  // Every report read marks an ack owed, in the batch's transaction; a collector killed before its
  // ack leaves the mark, so the next one visits the route even when no action waits there any more.
  const seen = db.prepare(
    `INSERT INTO QueueRoutes (Transport, Route, LastSeenAt, LastDetail, AckOwed) VALUES (?, ?, ?, ?, 1)
     ON CONFLICT (Transport, Route) DO UPDATE SET LastSeenAt = max(LastSeenAt, excluded.LastSeenAt),
       LastDetail = coalesce(excluded.LastDetail, LastDetail), AckOwed = 1`,
  );
  // Observed state, never written by apply: a device route's heartbeat says when its consumer last ran.
  const deviceSeen = db.prepare(
    `UPDATE Devices SET LastSeen = max(coalesce(LastSeen, ''), ?), Status = 'Online' WHERE DeviceId = ?`,
  );
  const acked = db.prepare(
    'UPDATE QueueRoutes SET AckOwed = 0 WHERE Transport = ? AND Route = ? AND AckOwed = 1',
  );
  // Intents nobody holds: their submitter stopped (recovery dropped its lease) or was --at's.
  const unsubmitted = db.prepare(
    `SELECT a.*, d.Transport, d.Route, d.Receipt, d.ExpiresAt FROM Actions a
     JOIN ActionDeliveries d ON d.ActionId = a.ActionId
     WHERE a.Status = 'Pending'
       AND NOT EXISTS (SELECT 1 FROM ActionLeases l WHERE l.ActionId = a.ActionId)
     ORDER BY coalesce(a.Priority, 5), a.CreatedAt, a.rowid LIMIT ?`,
  );
  const overdue = db.prepare(
    `SELECT a.*, d.Transport, d.Route, d.Receipt, d.ExpiresAt FROM ActionDeliveries d
     JOIN Actions a ON a.ActionId = d.ActionId
     WHERE d.ExpiresAt < ? AND a.Status IN ('Pending', 'Delivered')
       AND NOT EXISTS (SELECT 1 FROM ActionLeases l WHERE l.ActionId = a.ActionId)
     ORDER BY d.ExpiresAt LIMIT ?`,
  );

  const inFlight = db.prepare(IN_FLIGHT_SQL).pluck();

  const writeAudit = (action: string, device: string, details: Record<string, unknown>, success: boolean) =>
    audit.run(actor, action, `Device/${device}`, JSON.stringify(details), success ? 1 : 0);

  return {
    /**
     * Writes the delivery intents: the rows stay Pending (and keep their owner's lease), and from
     * now on are never cancelled as "not run" by recovery, since they may be queued.
     */
    recordIntents(entries: ReadonlyArray<{ actionId: string; key: QueueKey; expiresAt: string }>): void {
      db.transaction(() => {
        for (const e of entries) intent.run(e.actionId, e.key.transport, e.key.route, e.expiresAt);
      })();
    },

    /** Pending -> Delivered with the queue's receipt; the row is the queue's now (lease dropped). */
    markDelivered(entries: ReadonlyArray<{ actionId: string; receipt: string }>): boolean[] {
      return db.transaction(() =>
        entries.map((e) => {
          receipt.run(e.receipt, e.actionId);
          unlease.run(e.actionId);
          return toDelivered.run(e.actionId).changes > 0;
        }),
      )();
    },

    /** Drops the submitter's leases: the rows (with their intents) are for the next submitter. */
    release(actionIds: readonly string[]): void {
      db.transaction(() => {
        for (const id of actionIds) unlease.run(id);
      })();
    },

    row(actionId: string): QueuedRow | undefined {
      return row.get(actionId) as QueuedRow | undefined;
    },

    /**
     * Whether a report about this ActionId from this route may change its row: undefined when it
     * may, else why not (never sent anywhere, sent through another route, already ended).
     */
    refusal(actionId: string, key: QueueKey): { why: Refusal; row?: QueuedRow } | undefined {
      const r = row.get(actionId) as QueuedRow | undefined;
      if (!r) return { why: 'unknown' };
      if (r.Transport !== key.transport || r.Route !== key.route) return { why: 'other-route', row: r };
      if (!['Pending', 'Delivered', 'Running'].includes(r.Status)) return { why: 'ended', row: r };
      return undefined;
    },

    started(actionId: string): boolean {
      return toRunning.run(actionId).changes > 0;
    },

    /** Ends a row from a finished report, with its AuditLog row (as direct runs write it). */
    finish(r: QueuedRow, status: ActionStatus, result: ActionResult): boolean {
      if (toFinal.run(status, JSON.stringify(result), r.ActionId).changes === 0) return false;
      unlease.run(r.ActionId);
      const details = {
        actionId: r.ActionId,
        status,
        exitCode: result.exitCode,
        error: result.error,
        via: `${r.Transport}/${r.Route}`,
      };
      writeAudit(
        `action.${r.ActionType} Device/${r.DeviceId ?? ''}`,
        r.DeviceId ?? '',
        details,
        status === 'Succeeded',
      );
      return true;
    },

    /** Ends a row not started by the far side (Cancelled when withdrawn, Expired). */
    endUnstarted(r: QueuedRow, status: 'Cancelled' | 'Expired', error: string): boolean {
      const result: ActionResult = { error, durationMs: 0 };
      if (toWithdrawn.run(status, JSON.stringify(result), r.ActionId).changes === 0) return false;
      unlease.run(r.ActionId);
      writeAudit(
        `action.${r.ActionType} Device/${r.DeviceId ?? ''}`,
        r.DeviceId ?? '',
        { actionId: r.ActionId, status, error, via: `${r.Transport}/${r.Route}` },
        false,
      );
      return true;
    },

    /** A report that changes no row, kept for the record (Success 0). */
    auditRefused(key: QueueKey, details: Record<string, unknown>, device = ''): void {
      audit.run(
        actor,
        `queue.report-refused ${key.transport}/${key.route}`,
        device ? `Device/${device}` : `QueueRoute/${key.transport}/${key.route}`,
        JSON.stringify(details),
        0,
      );
    },

    routeSeen(key: QueueKey, at: number, detail?: Record<string, unknown>): void {
      seen.run(key.transport, key.route, at, detail === undefined ? null : JSON.stringify(detail));
    },

    /** A device route's far side ran at `at` (its heartbeat): the device's LastSeen and Status Online. */
    deviceSeen(device: string, at: Date): void {
      deviceSeen.run(sqliteTime(at), device);
    },

    /** The route's reports read so far are acked: nothing owed there. */
    routeAcked(key: QueueKey): void {
      acked.run(key.transport, key.route);
    },

    /** ActionIds Delivered or Running through the route. */
    inFlight(key: QueueKey): string[] {
      return inFlight.all(key.transport, key.route) as string[];
    },

    /** Pending rows with an intent that nobody holds, to submit again. */
    unsubmitted(limit: number): QueuedRow[] {
      return unsubmitted.all(limit) as QueuedRow[];
    },

    /** Pending or Delivered rows nobody holds whose expiresAt + grace is before `now`. */
    overdue(now: number, limit: number): QueuedRow[] {
      return overdue.all(new Date(now - EXPIRY_GRACE_MS).toISOString(), limit) as QueuedRow[];
    },

    /** Rows are read and written inside one transaction by the caller (a batch of reports). */
    transaction<T>(work: () => T): T {
      return db.transaction(work)();
    },

    exists(actionId: string): { ActionType: string; DeviceId: string | null; Status: string } | undefined {
      return exists.get(actionId) as
        | { ActionType: string; DeviceId: string | null; Status: string }
        | undefined;
    },
  };
}

export type QueueStore = ReturnType<typeof queueStore>;
