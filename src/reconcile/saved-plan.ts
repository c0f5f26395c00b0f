import { readFile } from 'node:fs/promises';
import { parseSavedPlan } from '../engine/saved-plan.js';
import { rederiveSavedPlan } from '../engine/saved-plan-check.js';
import { RmmError } from '../errors.js';
import type { MigrationPlan } from '../formats/migration-step.js';
import { setTransportSchemas } from '../resources/transport-options.js';
import type { Db } from '../state/connection.js';
import { withMigration } from '../state/migrate.js';
import { readPlanKey } from '../state/plan-key.js';
import { readStoredResources, stateRevision } from '../state/resource-store.js';
import { readStoredRefs } from '../state/stored-refs.js';
import { countDependents, type PlannedAgainst } from './plan.js';

/**
 * A plan saved by `rmm plan --out`, ready to apply: refused if it was changed after it was saved,
 * if the database moved since, or if its changes are not what its desired states and the stored
 * rows call for now (engine/saved-plan-check). What it returns is derived, not read from the file.
 */
export async function planSaved(
  db: Db,
  file: string,
  options: { dataDir: string; migration: MigrationPlan; transportSchemas?: Record<string, object> },
): Promise<PlannedAgainst> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new RmmError('invalid-input', `cannot read the saved plan ${file}: ${(error as Error).message}`);
  }
  const saved = parseSavedPlan(text, file, readPlanKey(options.dataDir));
  if (options.transportSchemas)
    setTransportSchemas({ schemas: options.transportSchemas, allowUnknown: saved.allowUnknownTransports });
  const derive = (): PlannedAgainst => {
    const revision = stateRevision(db);
    if (revision !== saved.revision) {
      throw new RmmError(
        'stale-plan',
        `the database changed since this plan was computed (revision ${saved.revision}, now ${revision}); nothing was applied`,
        { details: ['compute a new plan and review it'] },
      );
    }
    const stored = readStoredResources(db);
    const { plan, problems } = rederiveSavedPlan(saved, stored, readStoredRefs(db));
    if (problems.length > 0) {
      throw new RmmError('invalid-input', `${file} cannot be applied as it is; nothing was applied`, {
        details: [
          ...problems.slice(0, 20).map((p) => `- ${p}`),
          ...(problems.length > 20 ? [`- and ${problems.length - 20} more`] : []),
          'compute and review a new plan: rmm plan --out FILE',
        ],
      });
    }
    countDependents(db, plan);
    return { plan, revision, migration: saved.migration, stored };
  };
  const steps = options.migration.steps;
  if (steps.length === 0) return db.transaction(derive)();
  return withMigration(db, options.migration, { allowDestructive: false, commit: false }, derive);
}
