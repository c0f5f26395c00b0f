import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorCount } from './diagnostics/diagnostic.js';
import { computePlan, type Plan } from './engine/plan.js';
import { ImageView } from './engine/resource-view.js';
import { RmmError } from './errors.js';
import { databaseFile } from './paths.js';
import { type Db, openDatabase } from './state/connection.js';
import { loadDeclaredSchema } from './state/declared-schema.js';
import { pendingMigration, requireDatabaseFile } from './state/pending-migration.js';
import { fieldsOfImage } from './state/resource-rows.js';
import { readStoredResources, stateRevision, writeChanges } from './state/resource-store.js';
import { type DeclaredResource, validateInputs } from './validate.js';
import { renderValidation } from './views/diagnostics.js';

/** A plan and the state revision it was computed against. */
export interface RevisionedPlan {
  plan: Plan;
  revision: number;
}

/**
 * The declared resources, all valid, or an error listing every problem. Plan and apply call it
 * before the database is opened, so invalid input never touches it.
 */
export async function loadValidResources(
  inputs: readonly string[],
  options: { recursive: boolean; dataDir: string },
  verb: string,
): Promise<DeclaredResource[]> {
  // The warm cache lives in the data directory `rmm init` made; without one, nothing is cached.
  const cacheDir = path.join(options.dataDir, 'cache');
  const validation = await validateInputs(inputs, {
    recursive: options.recursive,
    collect: true,
    ...(existsSync(cacheDir) ? { cacheDir } : {}),
  });
  if (errorCount(validation.diagnostics) > 0) {
    throw new RmmError('invalid-input', `the declared resources are invalid; nothing was ${verb}`, {
      details: renderValidation(validation, false).split('\n'),
    });
  }
  return validation.resources;
}

/**
 * The console database for work on resources (plan, apply, get, export): it must exist and be at the
 * declared schema, or the user is told which command fixes it (instead of an SQL error later).
 */
export function openResourceDatabase(
  dataDir: string,
  options: { readonly?: boolean } = {},
): { db: Db; file: string } {
  const file = databaseFile(dataDir);
  requireDatabaseFile(file);
  const db = openDatabase(file, options);
  try {
    requireCurrentSchema(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return { db, file };
}

/** The change set from the database's current state to the declared resources. */
export function planAgainst(db: Db, resources: readonly DeclaredResource[], prune: boolean): RevisionedPlan {
  const desired = resources.map(({ kind, name, image }) => new ImageView(kind, name, image, fieldsOfImage));
  return { plan: computePlan(desired, readStoredResources(db), { prune }), revision: stateRevision(db) };
}

function requireCurrentSchema(db: Db): void {
  const { plan } = pendingMigration(db, loadDeclaredSchema());
  if (plan.steps.length > 0) {
    throw new RmmError('database', 'the database schema is behind schemas/database.yaml', {
      details: ['review the migration: rmm db plan', 'apply it: rmm db apply'],
    });
  }
}

/** Who is applying, for AuditLog: --actor, else RMM_ACTOR, else the OS user. */
export function resolveActor(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.RMM_ACTOR) return env.RMM_ACTOR;
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** --max-destroy: refuse a plan that destroys more, before anything is written. */
export function checkDestroyLimit(plan: Plan, max: number | undefined): void {
  if (max === undefined || plan.summary.destroy <= max) return;
  throw new RmmError(
    'destroy-limit',
    `the plan destroys ${plan.summary.destroy} resources, more than --max-destroy ${max} allows; nothing was changed`,
    {
      details: plan.changes
        .filter((c) => c.action === 'delete')
        .slice(0, 20)
        .map((c) => `- ${c.kind}/${c.name}`),
    },
  );
}

/**
 * Applies a plan in one BEGIN IMMEDIATE transaction: it waits up to `lockTimeoutMs` for another
 * writer, refuses if the state moved since the plan was computed, writes every change with its
 * AuditLog row, and commits; any failure rolls all of it back.
 */
export function commitPlan(
  db: Db,
  planned: RevisionedPlan,
  actor: string,
  lockTimeoutMs: number,
  databaseLabel: string,
): void {
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
  try {
    if (stateRevision(db) !== planned.revision) {
      throw new RmmError(
        'stale-plan',
        `the database changed since this plan was computed (revision ${planned.revision}, now ${stateRevision(db)}); nothing was applied`,
        {
          details: ['compute a new plan and review it'],
        },
      );
    }
    writeChanges(db, planned.plan, actor);
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
