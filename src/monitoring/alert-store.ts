import { randomUUID } from 'node:crypto';
import { sqliteTime } from '../actions/schedule.js';
import type { Db } from '../state/connection.js';

/**
 * The Alerts rows: raised, resolved, acknowledged and snoozed, each change with its AuditLog row in
 * the same transaction. An open alert is keyed by (device, source, instance): the unique partial
 * index idx_alerts_open allows one open row per key, so raising an alert that is already open
 * returns the open one, and a restarted service can never open it twice. Times come from `now`
 * and are stored as SQLite's CURRENT_TIMESTAMP writes them (UTC, seconds). Observed state only:
 * `rmm apply` never writes these rows (pruning a device deletes its alerts with it).
 *
 * A raise or resolve calls `owes` inside its transaction, so the notifications it owes (the outbox,
 * src/notify/outbox-store.ts) commit with it or not at all; one made during a maintenance window
 * (`maintenanceOf`) is marked with the window's name in Alerts.Maintenance and owes nothing.
 */

export type Severity = 'Info' | 'Warning' | 'Critical';

export interface NewAlert {
  device: string;
  /** `monitor` for a policy's monitor, `device-offline` for an unreachable device. */
  alertType: string;
  severity: Severity;
  title: string;
  /** The value and the threshold, for people. */
  message: string;
  /** What raised it: `policy/monitor`, or `rmm/device-offline`. Never empty (NULLs are never equal in a unique index). */
  source: string;
  /** The series' canonical labels (`mount=/`); '' for none. */
  instance: string;
}

export interface AlertRow {
  id: string;
  device: string;
  alertType: string;
  severity: Severity;
  title: string;
  message: string | null;
  source: string;
  instance: string;
  createdAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  autoResolved: boolean;
  snoozedUntil: string | null;
  /** The maintenance window it was raised or resolved in; such a change notified nobody. */
  maintenance: string | null;
}

export type RaiseOutcome =
  | { outcome: 'raised'; id: string }
  /** An alert with the same key was open already: nothing written. */
  | { outcome: 'already-open'; id: string }
  /** The device is not in Devices (pruned since it was evaluated): nothing written. */
  | { outcome: 'unknown-device' };

/** An alert change that owes notifications, handed to `owes` inside the change's transaction. */
export interface OwingChange {
  event: 'fire' | 'resolve';
  alert: { id: string; device: string; severity: Severity; source: string; instance: string };
  /** The change's time, epoch ms. */
  at: number;
}

export interface AlertStoreOptions {
  now: () => number;
  newId?: () => string;
  /** The maintenance window a device is in at a time, or null; default: never in maintenance. */
  maintenanceOf?: (device: string, atMs: number) => string | null;
  /** Writes what a change owes; runs in the change's transaction, so throwing undoes the change. */
  owes?: (change: OwingChange) => void;
}

/** What a change did: `not-open` for an alert resolved before, `unchanged` when it already was so. */
export type ChangeOutcome = 'changed' | 'not-found' | 'not-open' | 'unchanged';

/** An operator's change to alerts (rmm alerts ack|snooze|resolve). */
export type AlertChange =
  | { kind: 'acknowledge'; by: string; note?: string }
  | { kind: 'snooze'; by: string; until: number }
  | { kind: 'resolve'; by: string };

/** What changeAll did: every id changed (or already so), or nothing, with the ids that stopped it. */
export type ChangeAllOutcome =
  | { outcome: 'changed'; results: ReadonlyMap<string, 'changed' | 'unchanged'> }
  | { outcome: 'refused'; refused: ReadonlyArray<{ id: string; why: 'not-found' | 'not-open' }> };

export interface AlertStore {
  raise(alert: NewAlert, actor: string): RaiseOutcome;
  /** `auto` marks a resolution by the evaluator (the condition cleared and the monitor says autoResolve). */
  resolve(id: string, options: { by: string; auto: boolean }): ChangeOutcome;
  acknowledge(id: string, options: { by: string; note?: string }): ChangeOutcome;
  /** Silences an open alert until `until` (epoch ms; the command checks it is in the future). */
  snooze(id: string, options: { by: string; until: number }): ChangeOutcome;
  /**
   * One change to several alerts in one transaction: every id is checked first, and one that does
   * not exist or is resolved refuses the whole change, so an operator's command changes all or none.
   */
  changeAll(ids: readonly string[], change: AlertChange): ChangeAllOutcome;
  get(id: string): AlertRow | undefined;
  /** Every open alert, oldest first: what the evaluator starts from after a restart. */
  open(): AlertRow[];
}

interface Row {
  AlertId: string;
  DeviceId: string;
  AlertType: string;
  Severity: Severity;
  Title: string;
  Message: string | null;
  Source: string;
  Instance: string;
  CreatedAt: string;
  AcknowledgedAt: string | null;
  AcknowledgedBy: string | null;
  ResolvedAt: string | null;
  ResolvedBy: string | null;
  AutoResolved: number;
  SnoozedUntil: string | null;
  Maintenance: string | null;
}

export function alertStore(db: Db, options: AlertStoreOptions): AlertStore {
  const newId = options.newId ?? randomUUID;
  const maintenanceOf = options.maintenanceOf ?? (() => null);
  const owes = options.owes ?? (() => {});
  const at = () => sqliteTime(new Date(options.now()));
  const insert = db.prepare(
    `INSERT INTO Alerts (AlertId, DeviceId, AlertType, Severity, Title, Message, Source, Instance, CreatedAt,
       Maintenance)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (DeviceId, Source, Instance) WHERE ResolvedAt IS NULL DO NOTHING`,
  );
  const openId = db
    .prepare(
      'SELECT AlertId FROM Alerts WHERE DeviceId = ? AND Source = ? AND Instance = ? AND ResolvedAt IS NULL',
    )
    .pluck();
  const byId = db.prepare('SELECT * FROM Alerts WHERE AlertId = ?');
  const openRows = db.prepare('SELECT * FROM Alerts WHERE ResolvedAt IS NULL ORDER BY CreatedAt, rowid');
  const toResolved = db.prepare(
    `UPDATE Alerts SET ResolvedAt = ?, ResolvedBy = ?, AutoResolved = ?, Maintenance = coalesce(Maintenance, ?)
     WHERE AlertId = ? AND ResolvedAt IS NULL`,
  );
  const toAcknowledged = db.prepare(
    'UPDATE Alerts SET AcknowledgedAt = ?, AcknowledgedBy = ? WHERE AlertId = ? AND ResolvedAt IS NULL',
  );
  const toSnoozed = db.prepare('UPDATE Alerts SET SnoozedUntil = ? WHERE AlertId = ? AND ResolvedAt IS NULL');
  const audit = db.prepare(
    'INSERT INTO AuditLog (Timestamp, User, Action, Target, Details, Success) VALUES (?, ?, ?, ?, ?, 1)',
  );
  const writeAudit = (actor: string, action: string, id: string, details: Record<string, unknown>) =>
    audit.run(at(), actor, action, `Alert/${id}`, JSON.stringify(details));

  /** The row's state before a change: missing, resolved, or the row to change. */
  const current = (id: string): Row | 'not-found' | 'not-open' => {
    const row = byId.get(id) as Row | undefined;
    if (!row) return 'not-found';
    return row.ResolvedAt === null ? row : 'not-open';
  };

  const store: Omit<AlertStore, 'changeAll'> = {
    raise: db.transaction((alert: NewAlert, actor: string): RaiseOutcome => {
      if (alert.source === '') throw new Error('rmm bug: an alert needs a source');
      const id = newId();
      const now = options.now();
      const window = maintenanceOf(alert.device, now);
      try {
        const { changes } = insert.run(
          id,
          alert.device,
          alert.alertType,
          alert.severity,
          alert.title,
          alert.message,
          alert.source,
          alert.instance,
          at(),
          window,
        );
        if (changes === 0) {
          return {
            outcome: 'already-open',
            id: openId.get(alert.device, alert.source, alert.instance) as string,
          };
        }
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_FOREIGNKEY') throw error;
        return { outcome: 'unknown-device' };
      }
      writeAudit(actor, 'alert.raise', id, {
        device: alert.device,
        source: alert.source,
        instance: alert.instance,
        severity: alert.severity,
        message: alert.message,
        ...(window === null ? {} : { maintenance: window }),
      });
      if (window === null) owes({ event: 'fire', alert: { ...alert, id }, at: now });
      return { outcome: 'raised', id };
    }).immediate,

    resolve: db.transaction((id: string, change: { by: string; auto: boolean }): ChangeOutcome => {
      const row = current(id);
      if (typeof row === 'string') return row;
      const now = options.now();
      const window = maintenanceOf(row.DeviceId, now);
      toResolved.run(at(), change.by, change.auto ? 1 : 0, window, id);
      writeAudit(change.by, 'alert.resolve', id, {
        device: row.DeviceId,
        source: row.Source,
        auto: change.auto,
        ...(window === null ? {} : { maintenance: window }),
      });
      // Raised in a window, nobody heard of it; resolved in one, nobody is told.
      if (window === null && row.Maintenance === null) {
        const alert = {
          id,
          device: row.DeviceId,
          severity: row.Severity,
          source: row.Source,
          instance: row.Instance,
        };
        owes({ event: 'resolve', alert, at: now });
      }
      return 'changed';
    }).immediate,

    acknowledge: db.transaction((id: string, change: { by: string; note?: string }): ChangeOutcome => {
      const row = current(id);
      if (typeof row === 'string') return row;
      if (row.AcknowledgedAt !== null) return 'unchanged';
      toAcknowledged.run(at(), change.by, id);
      writeAudit(change.by, 'alert.acknowledge', id, {
        device: row.DeviceId,
        source: row.Source,
        ...(change.note === undefined ? {} : { note: change.note }),
      });
      return 'changed';
    }).immediate,

    snooze: db.transaction((id: string, change: { by: string; until: number }): ChangeOutcome => {
      const row = current(id);
      if (typeof row === 'string') return row;
      const until = sqliteTime(new Date(change.until));
      if (row.SnoozedUntil === until) return 'unchanged';
      toSnoozed.run(until, id);
      writeAudit(change.by, 'alert.snooze', id, { device: row.DeviceId, source: row.Source, until });
      return 'changed';
    }).immediate,

    get(id) {
      const row = byId.get(id) as Row | undefined;
      return row && alertOf(row);
    },
    open() {
      return (openRows.all() as Row[]).map(alertOf);
    },
  };

  // The single changes run inside this transaction as savepoints (better-sqlite3 nests them).
  const changeOne = (id: string, change: AlertChange): ChangeOutcome => {
    switch (change.kind) {
      case 'acknowledge':
        return store.acknowledge(id, {
          by: change.by,
          ...(change.note === undefined ? {} : { note: change.note }),
        });
      case 'snooze':
        return store.snooze(id, { by: change.by, until: change.until });
      case 'resolve':
        return store.resolve(id, { by: change.by, auto: false });
    }
  };
  const changeAll = db.transaction((given: readonly string[], change: AlertChange): ChangeAllOutcome => {
    // An id given twice is changed once (a second resolve would find it resolved).
    const ids = [...new Set(given)];
    const refused: Array<{ id: string; why: 'not-found' | 'not-open' }> = [];
    for (const id of ids) {
      const row = current(id);
      if (typeof row === 'string') refused.push({ id, why: row });
    }
    if (refused.length > 0) return { outcome: 'refused', refused };
    const results = new Map<string, 'changed' | 'unchanged'>();
    for (const id of ids) {
      const outcome = changeOne(id, change);
      if (outcome !== 'changed' && outcome !== 'unchanged')
        throw new Error(`rmm bug: alert ${id} was checked and then found ${outcome}`);
      results.set(id, outcome);
    }
    return { outcome: 'changed', results };
  }).immediate;

  return { ...store, changeAll };
}

function alertOf(row: Row): AlertRow {
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
  };
}
