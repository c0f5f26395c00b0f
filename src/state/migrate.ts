import { RmmError } from '../errors.js';
import type { Db } from './connection.js';
import { type MigrationPlan, type MigrationStep, REBUILD_PREFIX } from './migration-plan.js';

export interface ApplyOptions {
  /** Allow steps that lose data (dropped tables, dropped columns). */
  allowDestructive: boolean;
}

export interface ApplyResult {
  applied: number;
}

/**
 * Runs a plan all-or-nothing: one BEGIN IMMEDIATE transaction, committed only when every step
 * succeeded and no foreign key is left dangling.
 *
 * The trap this avoids: `PRAGMA foreign_keys=OFF` is silently ignored inside a transaction. A rebuild
 * run with foreign keys still on drops the old parent table with an implicit DELETE, which fires ON
 * DELETE CASCADE on every child row (or fails on RESTRICT). So foreign keys go off *before* BEGIN, are
 * checked with PRAGMA foreign_key_check before COMMIT, and come back on whatever happens.
 */
export function applyMigration(db: Db, plan: MigrationPlan, options: ApplyOptions): ApplyResult {
  if (plan.destructive && !options.allowDestructive) throw refusal(plan);
  if (plan.steps.length === 0) return { applied: 0 };
  if (db.inTransaction) throw new Error('rmm bug: applyMigration needs a connection outside any transaction');

  const foreignKeysWereOn = foreignKeysOn(db);
  if (plan.needsForeignKeysOff) {
    db.pragma('foreign_keys = OFF');
    // Never go on if the pragma did not take: that is exactly how child rows get cascaded away.
    if (foreignKeysOn(db))
      throw new RmmError(
        'migration-failed',
        'cannot turn foreign keys off for the rebuild; nothing was changed',
      );
  }
  try {
    begin(db);
    try {
      for (const step of plan.steps) runStep(db, step);
      checkForeignKeys(db);
      db.exec('COMMIT');
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  } finally {
    if (plan.needsForeignKeysOff && foreignKeysWereOn) db.pragma('foreign_keys = ON');
  }
  return { applied: plan.steps.length };
}

function refusal(plan: MigrationPlan): RmmError {
  const destructive = plan.steps.filter((s) => s.destructive);
  return new RmmError(
    'destructive-refused',
    `refusing to apply ${destructive.length} destructive step${destructive.length === 1 ? '' : 's'} (data would be lost); nothing was changed`,
    {
      details: [
        ...destructive.map((s) => s.summary),
        'to apply them anyway: rmm db apply --allow-destructive',
      ],
    },
  );
}

function foreignKeysOn(db: Db): boolean {
  return db.pragma('foreign_keys', { simple: true }) === 1;
}

/** IMMEDIATE takes the write lock now, so a concurrent writer makes us wait (busy_timeout) or fail before any step. */
function begin(db: Db): void {
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    throw new RmmError('database', `cannot start the migration: ${messageOf(error)}`, { cause: error });
  }
}

function runStep(db: Db, step: MigrationStep): void {
  for (const sql of step.sql) {
    try {
      db.exec(sql);
    } catch (error) {
      throw new RmmError(
        'migration-failed',
        `migration failed at step "${step.summary}": ${messageOf(error)}`,
        {
          details: ['the transaction was rolled back; nothing was changed'],
          cause: error,
        },
      );
    }
  }
}

interface ForeignKeyViolation {
  table: string;
  rowid: number | null;
  parent: string;
}

function checkForeignKeys(db: Db): void {
  const violations = db.pragma('foreign_key_check') as ForeignKeyViolation[];
  if (violations.length === 0) return;
  const groups = new Map<string, (number | null)[]>();
  for (const v of violations) {
    const key = `${v.table} -> ${v.parent}`;
    groups.set(key, [...(groups.get(key) ?? []), v.rowid]);
  }
  const details = [...groups].map(([key, rowids]) => {
    const [table, parent] = key.split(' -> ');
    const shown = rowids.slice(0, 5).join(', ');
    return `${table}: ${rowids.length} row(s) reference missing ${parent} rows (rowid ${shown}${rowids.length > 5 ? ', ...' : ''})`;
  });
  throw new RmmError(
    'migration-failed',
    'migration failed: it would leave foreign keys pointing at missing rows; rolled back',
    {
      details,
    },
  );
}

/** SQLite's message, with the rebuild's temporary table called by the name people know. */
function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replaceAll(REBUILD_PREFIX, '');
}
