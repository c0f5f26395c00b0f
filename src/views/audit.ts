import type { AuditRow } from '../audit/queries.js';
import { type Column, textTable } from './table.js';
import { isoTime } from './time.js';

/** `rmm audit`: a table for people (times in UTC as stored), JSON for programs (ISO 8601). */
export function auditJson(row: AuditRow) {
  return {
    id: row.LogId,
    time: isoTime(row.Timestamp),
    user: row.User,
    action: row.Action,
    target: row.Target,
    success: row.Success === null ? null : row.Success !== 0,
    details: parseDetails(row.Details),
    ipAddress: row.IPAddress,
  };
}

export function auditTable(rows: readonly AuditRow[]): string {
  const columns: Array<Column<AuditRow>> = [
    ['TIME (UTC)', (r) => r.Timestamp ?? ''],
    ['USER', (r) => r.User ?? ''],
    ['ACTION', (r) => actionOf(r)],
    ['TARGET', (r) => r.Target ?? ''],
    ['OK', (r) => (r.Success === 0 ? 'no' : 'yes')],
    ['DETAILS', (r) => cut(r.Details ?? '')],
  ];
  return textTable(columns, rows);
}

/** apply and action rows repeat their target in Action ('apply.create Site/alpha'): shown once. */
function actionOf(row: AuditRow): string {
  return row.Target && row.Action.endsWith(` ${row.Target}`)
    ? row.Action.slice(0, -row.Target.length - 1)
    : row.Action;
}

function cut(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 80 ? `${flat.slice(0, 79)}…` : flat;
}

function parseDetails(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
