import { RmmError } from '../errors.js';
import type { MigrationPlan, MigrationStep } from '../formats/migration-step.js';
import type { Db } from './connection.js';
import { REBUILD_PREFIX } from './migration-plan.js';

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
export function applyMigration(
  db: Db,
  plan: MigrationPlan,
  options: ApplyOptions & { actor?: string },
): ApplyResult {
  if (plan.steps.length === 0 && !(plan.destructive && !options.allowDestructive)) return { applied: 0 };
  withMigration(db, plan, { ...options, commit: true }, () => {});
  return { applied: plan.steps.length };
}

/**
 * Runs a migration plan's steps and then `body` in one BEGIN IMMEDIATE transaction, and commits only
 * with `commit` (plan rolls back: it needs the migrated schema to read the state, and must change
 * nothing). This is how `rmm apply` lands pending schema steps and resource changes all or nothing.
 */
export function withMigration<T>(
  db: Db,
  plan: MigrationPlan,
  options: ApplyOptions & {
    commit: boolean;
    /** Who runs it: each step gets an AuditLog row (`db.migrate`), in the same transaction. */
    actor?: string;
    begin?: (db: Db) => void;
  },
  body: () => T,
): T {
  if (plan.destructive && !options.allowDestructive) throw refusal(plan);
  if (db.inTransaction) throw new Error('rmm bug: withMigration needs a connection outside any transaction');

  const foreignKeysWereOn = foreignKeysOn(db);
  const foreignKeysOff = plan.needsForeignKeysOff && foreignKeysWereOn;
  if (foreignKeysOff) {
    db.pragma('foreign_keys = OFF');
    // Never go on if the pragma did not take: that is exactly how child rows get cascaded away.
    if (foreignKeysOn(db))
      throw new RmmError(
        'migration-failed',
        'cannot turn foreign keys off for the rebuild; nothing was changed',
      );
  }
  try {
    try {
      (options.begin ?? begin)(db);
      for (const step of plan.steps) runStep(db, step);
      if (options.actor !== undefined && options.commit) auditSteps(db, plan, options.actor);
      const result = body();
      if (foreignKeysOff) checkForeignKeys(db);
      db.exec(options.commit ? 'COMMIT' : 'ROLLBACK');
      return result;
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  } finally {
    if (foreignKeysOff) db.pragma('foreign_keys = ON');
  }
}

/** One AuditLog row per step, when the schema has an AuditLog table (every rmm schema does). */
function auditSteps(db: Db, plan: MigrationPlan, actor: string): void {
  const hasAuditLog = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'AuditLog'")
    .get();
  if (!hasAuditLog) return;
  const audit = db.prepare(
    'INSERT INTO AuditLog (User, Action, Target, Details, Success) VALUES (?, ?, ?, ?, 1)',
  );
  for (const step of plan.steps)
    audit.run(actor, `db.migrate ${step.action}`, step.object, JSON.stringify({ summary: step.summary }));
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
