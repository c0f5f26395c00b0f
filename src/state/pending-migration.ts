import { existsSync } from 'node:fs';
import { RmmError } from '../errors.js';
import type { Db } from './connection.js';
import { type DeclaredSchema, displayPath } from './declared-schema.js';
import { diffSchemas } from './diff.js';
import { inspectDatabase, type LiveDatabase } from './inspect.js';
import { type MigrationPlan, planMigration } from './migration-plan.js';

/** Commands that work on an existing database say how to create one when it is missing. */
export function requireDatabaseFile(file: string): void {
  if (!existsSync(file)) {
    throw new RmmError('not-found', `no database at ${displayPath(file)}`, {
      details: ['create it with: rmm init'],
    });
  }
}

/** What it takes to bring `db` to the declared schema: inspect, diff, plan. */
export function pendingMigration(
  db: Db,
  declared: DeclaredSchema,
): { live: LiveDatabase; plan: MigrationPlan } {
  const live = inspectDatabase(db, declared.seeds);
  return { live, plan: planMigration(diffSchemas(live, declared)) };
}
