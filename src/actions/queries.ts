import type { Db } from '../state/connection.js';
import type { ActionRow, ActionStatus } from './store.js';

/** Reading the queue for `rmm actions list|show|cancel`: never writes. */
export interface ListFilter {
  statuses?: readonly ActionStatus[];
  device?: string;
  limit: number;
}

/** Newest first (rowid breaks ties within CreatedAt's one-second resolution). */
export function listActions(db: Db, filter: ListFilter): ActionRow[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.statuses?.length) {
    where.push(`Status IN (${filter.statuses.map(() => '?').join(', ')})`);
    params.push(...filter.statuses);
  }
  if (filter.device !== undefined) {
    where.push('DeviceId = ?');
    params.push(filter.device);
  }
  const sql = `SELECT * FROM Actions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
               ORDER BY CreatedAt DESC, rowid DESC LIMIT ?`;
  return db.prepare(sql).all(...params, filter.limit) as ActionRow[];
}

/**
 * The rows an id names: the whole id, else the rows it is a prefix of (ids are UUIDs; the first 8
 * characters are usually enough). At most 2: more than one means the prefix is ambiguous.
 */
export function matchAction(db: Db, id: string): ActionRow[] {
  const exact = db.prepare('SELECT * FROM Actions WHERE ActionId = ?').get(id) as ActionRow | undefined;
  if (exact) return [exact];
  if (id.length === 0) return [];
  return db
    .prepare('SELECT * FROM Actions WHERE substr(ActionId, 1, length(?)) = ? LIMIT 2')
    .all(id, id) as ActionRow[];
}

/** Why an id names no single row, for messages; undefined when it names one. */
export function matchProblem(id: string, rows: readonly ActionRow[]): string | undefined {
  if (rows.length === 0) return `no action ${JSON.stringify(id)}`;
  if (rows.length > 1) return `action id ${JSON.stringify(id)} is ambiguous: give more of it`;
  return undefined;
}

export interface Lease {
  RunnerPid: number;
  RunnerHost: string;
  LeasedAt: string;
}

export function leaseOf(db: Db, id: string): Lease | undefined {
  return db.prepare('SELECT RunnerPid, RunnerHost, LeasedAt FROM ActionLeases WHERE ActionId = ?').get(id) as
    | Lease
    | undefined;
}
