import path from 'node:path';
import { RmmError } from '../errors.js';
import type { MigrationStep } from '../formats/migration-step.js';
import type { Db } from '../state/connection.js';
import { loadDeclaredSchema } from '../state/declared-schema.js';
import { withMigration } from '../state/migrate.js';
import { pendingMigration } from '../state/pending-migration.js';
import { schemaCache } from '../state/resource-database.js';
import { stateRevision, writeChanges } from '../state/resource-store.js';
import { type ManifestUpdate, writeManifests, writingAsRmm } from '../state/source-manifests.js';
import { phase } from '../timing.js';
import type { RevisionedPlan } from './plan.js';

/**
 * Applies a plan in one BEGIN IMMEDIATE transaction: it waits up to `lockTimeoutMs` for another
 * writer; under the lock it refuses if the schema or the state moved since the plan was computed;
 * then it runs the pending schema steps the plan showed, writes every change with its AuditLog row,
 * and commits. Any failure rolls all of it back.
 */
export function commitPlan(
  db: Db,
  planned: RevisionedPlan,
  actor: string,
  lockTimeoutMs: number,
  databaseLabel: string,
  /** apply -f's record of the files it read (source-manifests.ts); a saved plan has none. */
  options: { manifests?: ManifestUpdate | undefined } = {},
): void {
  const declared = loadDeclaredSchema(undefined, schemaCache(path.dirname(db.name)));
  // The steps run are recomputed from schemas/database.yaml, never read from a (saved) plan.
  const migration = pendingMigration(db, declared).plan;
  const begin = () => {
    beginImmediate(db, lockTimeoutMs, databaseLabel);
    const now = pendingMigration(db, declared).plan;
    if (!sameSteps(now.steps, planned.migration) || !sameSteps(now.steps, migration.steps)) {
      throw new RmmError(
        'stale-plan',
        'the database schema changed since this plan was computed; nothing was applied',
        { details: ['compute a new plan and review it'] },
      );
    }
    const revision = stateRevision(db);
    if (revision !== planned.revision) {
      throw new RmmError(
        'stale-plan',
        `the database changed since this plan was computed (revision ${planned.revision}, now ${revision}); nothing was applied`,
        { details: ['compute a new plan and review it'] },
      );
    }
  };
  withMigration(db, migration, { allowDestructive: false, commit: true, begin, actor }, () => {
    const manifests = options.manifests;
    // With manifests, the triggers stay quiet: these writes are what the manifests describe. A saved
    // plan's writes are marked, so the files they came from are read again by the next plan.
    if (manifests && manifestTables(db)) {
      writingAsRmm(db, () => writeChanges(db, planned.plan, actor));
      writeManifests(db, manifests);
    } else writeChanges(db, planned.plan, actor);
    phase('written (before COMMIT)');
  });
}

/** The tables exist once the migration that makes them ran (it runs first, in this transaction). */
function manifestTables(db: Db): boolean {
  const count = db
    .prepare(
      `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('SourceManifests', 'ResourceEdits')`,
    )
    .pluck()
    .get() as number;
  return count === 2;
}

function beginImmediate(db: Db, lockTimeoutMs: number, databaseLabel: string): void {
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(lockTimeoutMs))}`);
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new RmmError(
        'locked',
        `another writer holds the write lock on ${databaseLabel} (waited ${lockTimeoutMs / 1000} s); nothing was changed`,
        {
          details: [
            'another rmm apply is probably running; try again when it ends, or wait longer with --lock-timeout',
          ],
        },
      );
    }
    throw error;
  }
}

function sameSteps(a: readonly MigrationStep[], b: readonly MigrationStep[]): boolean {
  return a.length === b.length && a.every((step, i) => step.sql.join('\n') === b[i]?.sql.join('\n'));
}
