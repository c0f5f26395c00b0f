import os from 'node:os';
import { computePlan, type Plan } from './engine/plan.js';
import { viewOf } from './engine/resource-view.js';
import { RmmError } from './errors.js';
import type { Db } from './state/connection.js';
import { loadDeclaredSchema } from './state/declared-schema.js';
import { pendingMigration } from './state/pending-migration.js';
import { readStoredResources, stateRevision } from './state/resource-store.js';
import type { SourcedResource } from './validate.js';

/** A plan and the state revision it was computed against. */
export interface RevisionedPlan {
  plan: Plan;
  revision: number;
}

/** The change set from the database's current state to the declared resources. */
export function planAgainst(db: Db, resources: readonly SourcedResource[], prune: boolean): RevisionedPlan {
  requireCurrentSchema(db);
  const desired = resources.map((r) => viewOf(r.resource));
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
