import { readFile } from 'node:fs/promises';
import { parseSavedPlan, type SavedPlan } from '../engine/saved-plan.js';
import { rederiveSavedPlan } from '../engine/saved-plan-check.js';
import { toResource } from '../engine/to-resource.js';
import { RmmError } from '../errors.js';
import type { MigrationPlan } from '../formats/migration-step.js';
import { findSecrets } from '../resources/secret-scan.js';
import { setTransportSchemas, type TransportSchemas } from '../resources/transport-options.js';
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
  options: {
    dataDir: string;
    migration: MigrationPlan;
    /** The installed transports' schemas (device types, and declared routes: a Relay's spec.nats). */
    transportSchemas?: Pick<TransportSchemas, 'schemas' | 'routeSchemas'>;
  },
): Promise<PlannedAgainst> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new RmmError('invalid-input', `cannot read the saved plan ${file}: ${(error as Error).message}`);
  }
  const saved = parseSavedPlan(text, file, readPlanKey(options.dataDir));
  if (options.transportSchemas)
    setTransportSchemas({
      schemas: options.transportSchemas.schemas,
      ...(options.transportSchemas.routeSchemas
        ? { routeSchemas: options.transportSchemas.routeSchemas }
        : {}),
      allowUnknown: saved.allowUnknownTransports,
    });
  const secrets = await secretProblems(saved);
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
    const derived = rederiveSavedPlan(saved, stored, readStoredRefs(db));
    const { plan } = derived;
    const problems = [...secrets, ...derived.problems];
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

/**
 * The secret scan YAML gets (resources/secret-scan.ts), over each desired state of the file: a plan
 * is input too, and its desired states are what apply writes. It reads no database, so it runs
 * before the transaction (it is asynchronous).
 */
async function secretProblems(saved: SavedPlan): Promise<string[]> {
  const wanted = saved.changes.filter((c) => c.action !== 'delete');
  const found = await findSecrets(
    wanted.map((c) => ({
      kind: c.kind,
      value: toResource({ kind: c.kind, name: c.name, fields: c.desired ?? {} }),
    })),
  );
  return found.flatMap((problems, i) => {
    const change = wanted[i] as SavedPlan['changes'][number];
    return problems.map(
      (p) => `${change.kind}/${change.name}: ${p.path.join('.') || '(document)'}: ${p.message}`,
    );
  });
}
