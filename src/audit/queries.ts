import type { Db } from '../state/connection.js';

/** Reading AuditLog for `rmm audit`: never writes. */
export interface AuditRow {
  LogId: number;
  Timestamp: string | null;
  User: string | null;
  Action: string;
  Target: string | null;
  Details: string | null;
  IPAddress: string | null;
  Success: number | null;
}

export interface AuditFilter {
  /** SQLite's UTC form: rows at or after it. */
  since?: string;
  /** KIND/NAME, or a glob over it (* any run, ? one character). */
  target?: string;
  limit: number;
}

/**
 * The newest `limit` rows that match, returned oldest first (newest last, as a log reads), and how
 * many matched in all, so a cut is never silent. LogId orders them: Timestamp has one-second steps.
 */
export function listAudit(db: Db, filter: AuditFilter): { rows: AuditRow[]; matched: number } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.since !== undefined) {
    where.push('Timestamp >= ?');
    params.push(filter.since);
  }
  if (filter.target !== undefined) {
    where.push(/[*?[]/.test(filter.target) ? 'Target GLOB ?' : 'Target = ?');
    params.push(filter.target);
  }
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const matched =
    (db
      .prepare(`SELECT count(*) FROM AuditLog ${clause}`)
      .pluck()
      .get(...params) as number) ?? 0;
  const rows = db
    .prepare(`SELECT * FROM AuditLog ${clause} ORDER BY LogId DESC LIMIT ?`)
    .all(...params, filter.limit) as AuditRow[];
  return { rows: rows.reverse(), matched };
}
