import { readFile, writeFile } from 'node:fs/promises';
import { RmmError } from '../errors.js';
import { isKind } from '../resources/kinds.js';
import type { MigrationStep } from '../state/migration-plan.js';
import type { Plan } from './plan.js';

const isString = (value: unknown): value is string => typeof value === 'string';

const ACTIONS = new Set(['create', 'update', 'delete']);
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The file `rmm plan --out` writes and `rmm apply PLANFILE` reads: the change set exactly as shown,
 * and the state revision it was computed against, so a stale plan is refused. It holds only what
 * YAML holds: credential references, never secrets.
 */
export interface SavedPlan {
  formatVersion: 1;
  kind: 'rmm-plan';
  revision: number;
  /** The apply set and prune scope it was planned for: apply records that set. */
  scope: Plan['scope'];
  changes: Plan['changes'];
  undeclared: Plan['undeclared'];
  summary: Plan['summary'];
  /**
   * The pending schema steps shown with the plan. Apply never runs SQL from this file: it recomputes
   * the steps from schemas/database.yaml and refuses the plan if they differ.
   */
  migration?: MigrationStep[];
}

export function toSavedPlan(plan: Plan, revision: number, migration: MigrationStep[] = []): SavedPlan {
  return {
    formatVersion: 1,
    kind: 'rmm-plan',
    revision,
    migration,
    scope: plan.scope,
    changes: plan.changes,
    undeclared: plan.undeclared,
    summary: plan.summary,
  };
}

export async function writeSavedPlan(file: string, saved: SavedPlan): Promise<void> {
  await writeFile(file, `${JSON.stringify(saved, null, 2)}\n`);
}

export async function readSavedPlan(
  file: string,
): Promise<{ plan: Plan; revision: number; migration: MigrationStep[] }> {
  let saved: Partial<SavedPlan>;
  try {
    saved = JSON.parse(await readFile(file, 'utf8')) as Partial<SavedPlan>;
  } catch (error) {
    throw new RmmError('invalid-input', `cannot read the saved plan ${file}: ${(error as Error).message}`);
  }
  if (
    saved?.kind !== 'rmm-plan' ||
    saved.formatVersion !== 1 ||
    !Array.isArray(saved.changes) ||
    typeof saved.revision !== 'number' ||
    !saved.summary
  ) {
    throw new RmmError(
      'invalid-input',
      `${file} is not a plan written by \`rmm plan --out\` (format version 1)`,
    );
  }
  const bad = saved.changes.find(
    (c) =>
      !ACTIONS.has(c?.action) ||
      !isKind(c?.kind) ||
      typeof c?.name !== 'string' ||
      !NAME.test(c.name) ||
      !Array.isArray(c.fields),
  );
  if (bad)
    throw new RmmError(
      'invalid-input',
      `${file} holds a change rmm cannot apply: ${JSON.stringify(bad).slice(0, 200)}`,
    );
  const migration = saved.migration ?? [];
  if (
    !Array.isArray(migration) ||
    !migration.every((s) => typeof s?.summary === 'string' && Array.isArray(s.sql) && s.sql.every(isString))
  )
    throw new RmmError('invalid-input', `${file} holds schema steps rmm cannot read`);
  const scope = saved.scope;
  if (
    typeof scope?.set !== 'string' ||
    !Array.isArray(scope.prune) ||
    !scope.prune.every((e) => typeof e?.key === 'string')
  )
    throw new RmmError('invalid-input', `${file} does not name the apply set it was planned for`);
  return {
    plan: {
      scope,
      changes: saved.changes,
      undeclared: saved.undeclared ?? [],
      conflicts: [],
      unowned: 0,
      summary: saved.summary,
    },
    revision: saved.revision,
    migration,
  };
}
