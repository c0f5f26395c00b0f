import { randomUUID } from 'node:crypto';
import type { Db } from '../state/connection.js';

/**
 * Actions rows: one per device and action, through Pending -> Running -> Succeeded / Failed /
 * TimedOut / Unreachable / Cancelled. Every row that ends writes its AuditLog row in the same
 * transaction, so the queue and the audit trail never disagree.
 */
export type ActionStatus =
  | 'Pending'
  | 'Running'
  | 'Succeeded'
  | 'Failed'
  | 'TimedOut'
  | 'Unreachable'
  | 'Cancelled';

export const FINAL_STATUSES: readonly ActionStatus[] = [
  'Succeeded',
  'Failed',
  'TimedOut',
  'Unreachable',
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
  durationMs: number;
}

export function actionStore(db: Db, actor: string) {
  const insert = db.prepare(
    `INSERT INTO Actions (ActionId, DeviceId, ActionType, Status, Priority, Payload, ScheduledAt, CreatedBy)
     VALUES (?, ?, ?, 'Pending', ?, ?, ?, ?)`,
  );
  const running = db.prepare(
    "UPDATE Actions SET Status = 'Running', StartedAt = CURRENT_TIMESTAMP WHERE ActionId = ? AND Status = 'Pending'",
  );
  const finish = db.prepare(
    'UPDATE Actions SET Status = ?, Result = ?, CompletedAt = CURRENT_TIMESTAMP WHERE ActionId = ?',
  );
  const audit = db.prepare(
    'INSERT INTO AuditLog (User, Action, Target, Details, Success) VALUES (?, ?, ?, ?, ?)',
  );
  return {
    /** Queues one action per device in one transaction; returns their ids in the same order. */
    create(
      type: string,
      devices: readonly string[],
      payload: unknown,
      options: { priority: number; scheduledAt?: string | null },
    ): string[] {
      const text = JSON.stringify(payload);
      return db.transaction(() =>
        devices.map((device) => {
          const id = randomUUID();
          insert.run(id, device, type, options.priority, text, options.scheduledAt ?? null, actor);
          return id;
        }),
      )();
    },
    running(id: string): void {
      running.run(id);
    },
    finish(id: string, device: string, type: string, status: ActionStatus, result: ActionResult): void {
      db.transaction(() => {
        finish.run(status, JSON.stringify(result), id);
        const details = { actionId: id, status, exitCode: result.exitCode, error: result.error };
        audit.run(
          actor,
          `action.${type} Device/${device}`,
          `Device/${device}`,
          JSON.stringify(details),
          status === 'Succeeded' ? 1 : 0,
        );
      })();
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
