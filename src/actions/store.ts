import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Db } from '../state/connection.js';
import { isBusy, lockedBeforeRun } from './busy.js';

/**
 * Actions rows: one per device and action, through Pending -> Running -> Succeeded / Failed /
 * TimedOut / Unreachable / Cancelled (through a queued transport, Pending -> Delivered -> Running ->
 * the same ends or Expired: queue-store.ts). A row becomes Running only through claim(), which also writes
 * the runner's lease (ActionLeases) in the same transaction; every row that ends drops its lease and
 * writes its AuditLog row in the same transaction, so the queue, the leases and the audit trail
 * never disagree.
 *
 * Rows an immediate `rmm exec` (or `rmm inventory collect`) queues are that process's from the
 * start: create() writes their leases in the transaction that inserts them. A Pending row with a
 * lease is nobody else's to run (due() skips it and claim() refuses it); if its owner stops before
 * starting it, recovery ends it Cancelled. Only rows queued without an owner (`--at`) are the
 * queue's, for `rmm actions run`.
 */
export type ActionStatus =
  | 'Pending'
  | 'Delivered'
  | 'Running'
  | 'Succeeded'
  | 'Failed'
  | 'TimedOut'
  | 'Unreachable'
  | 'Expired'
  | 'Cancelled';

/**
 * Delivered: accepted by a queued transport's route (a relay), not started yet; Expired: its
 * deadline passed before the far side started it (queue-store.ts). Both only for queued actions.
 */
export const ACTION_STATUSES: readonly ActionStatus[] = [
  'Pending',
  'Delivered',
  'Running',
  'Succeeded',
  'Failed',
  'TimedOut',
  'Unreachable',
  'Expired',
  'Cancelled',
];

export const FINAL_STATUSES: readonly ActionStatus[] = [
  'Succeeded',
  'Failed',
  'TimedOut',
  'Unreachable',
  'Expired',
  'Cancelled',
];

/** stdout and stderr are kept up to this many bytes each in Actions.Result; the rest is counted. */
export const OUTPUT_CAP_BYTES = 64 * 1024;

export interface ActionResult {
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  /** Bytes beyond OUTPUT_CAP_BYTES that were not kept. */
  stdoutDropped?: number;
  stderrDropped?: number;
  error?: string;
  /** The action type's one-line account of a success (inventory: what it found). */
  note?: string;
  durationMs: number;
}

/** An Actions row as stored. */
export interface ActionRow {
  ActionId: string;
  DeviceId: string | null;
  ActionType: string;
  Status: ActionStatus;
  Priority: number | null;
  Payload: string | null;
  Result: string | null;
  ScheduledAt: string | null;
  StartedAt: string | null;
  CompletedAt: string | null;
  CreatedBy: string | null;
  CreatedAt: string | null;
}

/** The action types a runner knows how to run; rows of other types are left alone. */
export const RUNNABLE_TYPES = ['exec', 'inventory'] as const;

/** Who holds a lease: this process on this host. */
export interface Runner {
  pid: number;
  host: string;
}

export const THIS_RUNNER: Runner = { pid: process.pid, host: os.hostname() };

export function actionStore(db: Db, actor: string, runner: Runner = THIS_RUNNER) {
  const insert = db.prepare(
    `INSERT INTO Actions (ActionId, DeviceId, ActionType, Status, Priority, Payload, ScheduledAt, CreatedBy)
     VALUES (?, ?, ?, 'Pending', ?, ?, ?, ?)`,
  );
  // Only a Pending row that no other runner owns.
  const toRunning = db.prepare(
    `UPDATE Actions SET Status = 'Running', StartedAt = CURRENT_TIMESTAMP
     WHERE ActionId = ? AND Status = 'Pending'
       AND NOT EXISTS (SELECT 1 FROM ActionLeases l WHERE l.ActionId = Actions.ActionId
                       AND NOT (l.RunnerPid = ? AND l.RunnerHost = ?))`,
  );
  const lease = db.prepare(
    'INSERT OR REPLACE INTO ActionLeases (ActionId, RunnerPid, RunnerHost) VALUES (?, ?, ?)',
  );
  // Only a row that has not ended yet: the first to end a row wins (a runner, a cancel, a recovery).
  const toFinal = db.prepare(
    `UPDATE Actions SET Status = ?, Result = ?, CompletedAt = CURRENT_TIMESTAMP
     WHERE ActionId = ? AND Status IN ('Pending', 'Running')`,
  );
  const toCancelled = db.prepare(
    `UPDATE Actions SET Status = 'Cancelled', Result = ?, CompletedAt = CURRENT_TIMESTAMP
     WHERE ActionId = ? AND Status = 'Pending'
       AND NOT EXISTS (SELECT 1 FROM ActionDeliveries d WHERE d.ActionId = Actions.ActionId)`,
  );
  const unlease = db.prepare('DELETE FROM ActionLeases WHERE ActionId = ?');
  const audit = db.prepare(
    'INSERT INTO AuditLog (User, Action, Target, Details, Success) VALUES (?, ?, ?, ?, ?)',
  );
  const statusOf = db.prepare('SELECT Status FROM Actions WHERE ActionId = ?').pluck();
  const byId = db.prepare('SELECT * FROM Actions WHERE ActionId = ?');
  // An owned Pending row (it has a lease) is its owner's, however due it is; one with a delivery
  // intent is its queue's (queue-submit.ts), never run directly.
  const due = db.prepare(
    `SELECT * FROM Actions
     WHERE Status = 'Pending' AND ActionType IN (${RUNNABLE_TYPES.map(() => '?').join(', ')})
       AND (ScheduledAt IS NULL OR datetime(ScheduledAt) <= datetime('now'))
       AND NOT EXISTS (SELECT 1 FROM ActionLeases l WHERE l.ActionId = Actions.ActionId)
       AND NOT EXISTS (SELECT 1 FROM ActionDeliveries d WHERE d.ActionId = Actions.ActionId)
     ORDER BY coalesce(Priority, 5), CreatedAt, rowid
     LIMIT ?`,
  );

  const writeAudit = (
    id: string,
    device: string,
    type: string,
    status: ActionStatus,
    result: ActionResult,
  ) => {
    const details = { actionId: id, status, exitCode: result.exitCode, error: result.error };
    audit.run(
      actor,
      `action.${type} Device/${device}`,
      `Device/${device}`,
      JSON.stringify(details),
      status === 'Succeeded' ? 1 : 0,
    );
  };

  return {
    /** Who this store writes as (Actions.CreatedBy, AuditLog.User). */
    actor,

    /**
     * Queues one action per device in one transaction; returns their ids in the same order. `owned`:
     * the rows are this runner's from the start (its leases written in the same transaction), to run
     * now; no other runner takes them, even if this one stops.
     */
    create(
      type: string,
      devices: readonly string[],
      payload: unknown,
      options: { priority: number; scheduledAt?: string | null; owned?: boolean },
    ): string[] {
      const text = JSON.stringify(payload);
      try {
        return db.transaction(() =>
          devices.map((device) => {
            const id = randomUUID();
            insert.run(id, device, type, options.priority, text, options.scheduledAt ?? null, actor);
            if (options.owned) lease.run(id, runner.pid, runner.host);
            return id;
          }),
        )();
      } catch (error) {
        if (isBusy(error)) throw lockedBeforeRun('while queuing the actions', error);
        throw error;
      }
    },

    /** The rows with these ids, in the same order (missing ids are skipped). */
    load(ids: readonly string[]): ActionRow[] {
      return ids.map((id) => byId.get(id) as ActionRow | undefined).filter((r) => r !== undefined);
    },

    /** Pending rows that are due (ScheduledAt unset or past), by Priority (1 first), then age. */
    due(limit: number): ActionRow[] {
      return due.all(...RUNNABLE_TYPES, limit) as ActionRow[];
    },

    /**
     * Pending -> Running, with this runner's lease, if the row is still Pending and no other runner
     * owns it. False when another runner took it first, owns it, or it was cancelled: then the
     * caller must not run it.
     */
    claim(id: string): boolean {
      return db.transaction(() => {
        if (toRunning.run(id, runner.pid, runner.host).changes === 0) return false;
        lease.run(id, runner.pid, runner.host);
        return true;
      })();
    },

    /**
     * Ends a Pending or Running row with its result, drops its lease and audits it. False (and
     * nothing written) when the row had already ended.
     */
    finish(id: string, device: string, type: string, status: ActionStatus, result: ActionResult): boolean {
      return this.finishMany([{ id, device, type, status, result }])[0] === true;
    },

    /**
     * finish() for many rows in one transaction (a commit per row was a third of what rmm adds to a
     * fan-out of short commands); one answer per entry, in order.
     */
    finishMany(
      entries: ReadonlyArray<{
        id: string;
        device: string;
        type: string;
        status: ActionStatus;
        result: ActionResult;
      }>,
    ): boolean[] {
      return db.transaction(() =>
        entries.map(({ id, device, type, status, result }) => {
          if (toFinal.run(status, JSON.stringify(result), id).changes === 0) return false;
          unlease.run(id);
          writeAudit(id, device, type, status, result);
          return true;
        }),
      )();
    },

    /**
     * Pending -> Cancelled (audited); false when the row is not Pending (any more) or may sit in a
     * queue already (it has a delivery intent: only the queue can withdraw it).
     */
    cancelPending(id: string, device: string, type: string, reason: string): boolean {
      return db.transaction(() => {
        const result: ActionResult = { error: reason, durationMs: 0 };
        if (toCancelled.run(JSON.stringify(result), id).changes === 0) return false;
        unlease.run(id);
        writeAudit(id, device, type, 'Cancelled', result);
        return true;
      })();
    },

    statusOf(id: string): ActionStatus | undefined {
      return statusOf.get(id) as ActionStatus | undefined;
    },
  };
}

export type ActionStore = ReturnType<typeof actionStore>;

/** Output as kept in Actions.Result: the first OUTPUT_CAP_BYTES as text, and how much was dropped. */
export function capOutput(bytes: Buffer): { text: string; dropped: number } {
  if (bytes.length <= OUTPUT_CAP_BYTES) return { text: bytes.toString('utf8'), dropped: 0 };
  return {
    text: bytes.subarray(0, OUTPUT_CAP_BYTES).toString('utf8'),
    dropped: bytes.length - OUTPUT_CAP_BYTES,
  };
}
