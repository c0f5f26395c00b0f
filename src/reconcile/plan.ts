import { DEFAULT_APPLY_SET } from '../engine/apply-set.js';
import {
  computePlan,
  type DesiredResource,
  type Plan,
  type PlanOptions,
  type StoredResource,
} from '../engine/plan.js';
import { KIND_TABLES } from '../formats/kind-tables.js';
import type { MigrationPlan, MigrationStep } from '../formats/migration-step.js';
import type { Db } from '../state/connection.js';
import { dependentsOf } from '../state/dependents.js';
import { withMigration } from '../state/migrate.js';
import { readStoredResources, stateRevision } from '../state/resource-store.js';
import { readStoredSubset, storedWindowsExist } from '../state/stored-subset.js';
import { phase } from '../timing.js';

/** A plan and the state revision it was computed against. */
export interface RevisionedPlan {
  plan: Plan;
  revision: number;
  /** The schema steps the database is behind, which apply runs first in the same transaction. */
  migration: MigrationStep[];
}

/** A plan computed now, with the stored rows it was computed from (the blast radius reads them). */
export interface PlannedAgainst extends RevisionedPlan {
  /** Every stored row (an incremental plan reads them only when a section asks: see planSubset). */
  readonly stored: readonly StoredResource[];
  /**
   * An incremental plan's rows: those it compared, and every row of the kinds other than Device. With
   * a plan that changes only devices, what the monitor section reads (replay/monitor-changes).
   */
  readonly near?: readonly StoredResource[];
  /** False when no stored resource holds a maintenance window (known only to an incremental plan). */
  readonly storedWindows?: boolean;
}

const NO_MIGRATION: MigrationPlan = { steps: [], destructive: false, needsForeignKeysOff: false };

/**
 * The change set from the database's current state to the declared resources, read in one
 * transaction so that the rows and the revision belong together. With pending schema steps, they
 * run first in that transaction, which is rolled back: the plan sees the schema apply will create.
 */
export function planAgainst(
  db: Db,
  desired: readonly DesiredResource[],
  options: PlanOptions,
  migration: MigrationPlan = NO_MIGRATION,
): PlannedAgainst {
  const read = () => {
    const stored = readStoredResources(db);
    phase('read stored state');
    const plan = computePlan(desired, stored, options);
    countDependents(db, plan);
    return { plan, revision: stateRevision(db), migration: migration.steps, stored };
  };
  if (migration.steps.length === 0) return db.transaction(read)();
  return withMigration(db, migration, { allowDestructive: false, commit: false }, read);
}

/**
 * An incremental plan (reconcile/incremental.ts): the declared resources of the files read against
 * the rows they and prune touch, with `unread` the files whose manifests say their rows are as
 * applied. The same plan as planAgainst's, reading a fraction of the rows. Every row is read only if
 * a section of the output asks for `stored` (a device moving site, say), after this transaction.
 */
export function planSubset(
  db: Db,
  desired: readonly DesiredResource[],
  options: PlanOptions,
  unread: readonly string[],
): PlannedAgainst {
  const applySet = options.scope?.set ?? DEFAULT_APPLY_SET;
  const read = () => {
    const { compared, near } = readStoredSubset(db, { declared: desired, applySet, unread });
    phase('read stored state (incremental)');
    const plan = computePlan(desired, compared, options);
    countDependents(db, plan);
    return { plan, revision: stateRevision(db), near, storedWindows: storedWindowsExist(db) };
  };
  const planned = db.transaction(read)();
  let all: readonly StoredResource[] | undefined;
  return {
    ...planned,
    migration: [],
    get stored() {
      all ??= readStoredResources(db);
      return all;
    },
  };
}

/** False when no maintenance window exists before or after the plan, so none can be listed. */
export function windowsMayShow(planned: PlannedAgainst): boolean {
  if (planned.storedWindows !== false) return true;
  return planned.plan.changes.some((c) => {
    const windows = c.desired?.maintenance;
    return Array.isArray(windows) && windows.length > 0;
  });
}

/** Says, for each delete, which observed rows go with it: the reviewer sees what prune really removes. */
export function countDependents(db: Db, plan: Plan): void {
  const byKind = new Map<string, ReturnType<typeof dependentsOf>>();
  for (const change of plan.changes) {
    if (change.action !== 'delete') continue;
    let dependents = byKind.get(change.kind);
    if (!dependents) {
      const spec = KIND_TABLES[change.kind];
      dependents = dependentsOf(db, spec.table, spec.key);
      byKind.set(change.kind, dependents);
    }
    const rows = dependents.count(change.name);
    if (rows.length > 0) change.dependents = rows;
  }
}
