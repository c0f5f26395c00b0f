import type { MigrationPlan } from '../formats/migration-step.js';
import type { Db } from './connection.js';
import type { DeclaredSchema } from './declared-schema.js';
import { diffSchemas } from './diff.js';
import { inspectDatabase, type LiveDatabase } from './inspect.js';
import { planMigration } from './migration-plan.js';

/** What it takes to bring `db` to the declared schema: inspect, diff, plan. */
export function pendingMigration(
  db: Db,
  declared: DeclaredSchema,
): { live: LiveDatabase; plan: MigrationPlan } {
  const live = inspectDatabase(db, declared.seeds);
  return { live, plan: planMigration(diffSchemas(live, declared)) };
}
