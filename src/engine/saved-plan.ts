import { createHmac, timingSafeEqual } from 'node:crypto';
import { RmmError } from '../errors.js';
import type { MigrationStep } from '../formats/migration-step.js';
import { isKind } from '../resources/kinds.js';
import type { ApplyScope } from './apply-set.js';
import type { Plan, ResourceChange } from './plan.js';

const isString = (value: unknown): value is string => typeof value === 'string';
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const ACTIONS = new Set(['create', 'update', 'delete']);
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const SAVED_PLAN_VERSION = 2;
const INTEGRITY_PREFIX = 'hmac-sha256:';

/**
 * The file `rmm plan --out` writes and `rmm apply PLANFILE` reads: the change set as shown, what it
 * was planned with (apply set, prune scope, --prune, --take-over), and the state revision it was
 * computed against, so a stale plan is refused. It holds only what YAML holds: credential references,
 * never secrets. `integrity` is an HMAC over the rest, keyed by the console's plan key
 * (state/plan-key.ts), so a plan edited after it was saved is refused. Apply never trusts the
 * changes as written: it derives them again from each change's desired state and the stored rows
 * (engine/saved-plan-check.ts), and applies only when they are what the file shows.
 */
export interface SavedPlan {
  formatVersion: typeof SAVED_PLAN_VERSION;
  kind: 'rmm-plan';
  revision: number;
  scope: ApplyScope;
  prune: boolean;
  takeOver: boolean;
  /** --allow-unknown-transports: apply checks the desired states under the same rule. */
  allowUnknownTransports: boolean;
  changes: Plan['changes'];
  undeclared: Plan['undeclared'];
  summary: Plan['summary'];
  /**
   * The pending schema steps shown with the plan. Apply never runs SQL from this file: it recomputes
   * the steps from schemas/database.yaml and refuses the plan if they differ.
   */
  migration: MigrationStep[];
  integrity?: string;
}

export function toSavedPlan(
  plan: Plan,
  revision: number,
  migration: MigrationStep[],
  options: { prune: boolean; takeOver: boolean; allowUnknownTransports: boolean },
): SavedPlan {
  return {
    formatVersion: SAVED_PLAN_VERSION,
    kind: 'rmm-plan',
    revision,
    scope: plan.scope,
    prune: options.prune,
    takeOver: options.takeOver,
    allowUnknownTransports: options.allowUnknownTransports,
    migration,
    changes: plan.changes,
    undeclared: plan.undeclared,
    summary: plan.summary,
  };
}

/** The saved plan as text, with its integrity code over everything else in it. */
export function signedPlanText(saved: SavedPlan, key: Buffer): string {
  const { integrity: _, ...body } = saved;
  return `${JSON.stringify({ ...body, integrity: integrityOf(body, key) }, null, 2)}\n`;
}

function integrityOf(body: Omit<SavedPlan, 'integrity'>, key: Buffer): string {
  return INTEGRITY_PREFIX + createHmac('sha256', key).update(JSON.stringify(body)).digest('hex');
}

/**
 * Reads a saved plan's text: refused when it is not a plan, was saved by another format version,
 * or was changed after it was saved (its integrity code does not match under this console's key).
 * What it returns is only what the file claims; saved-plan-check decides what it may write.
 */
export function parseSavedPlan(text: string, file: string, key: Buffer | undefined): SavedPlan {
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new RmmError('invalid-input', `cannot read the saved plan ${file}: ${(error as Error).message}`);
  }
  if (!isObject(saved) || saved.kind !== 'rmm-plan') {
    throw new RmmError('invalid-input', `${file} is not a plan written by \`rmm plan --out\``);
  }
  if (saved.formatVersion !== SAVED_PLAN_VERSION) {
    throw new RmmError(
      'invalid-input',
      `${file} was saved by another version of rmm (plan format ${JSON.stringify(saved.formatVersion)}, this rmm reads ${SAVED_PLAN_VERSION}); nothing was applied`,
      { details: ['compute the plan again with this rmm: rmm plan --out FILE'] },
    );
  }
  const { integrity, ...body } = saved;
  if (!key) {
    throw new RmmError(
      'invalid-input',
      `cannot check ${file}: this console has no plan key; nothing was applied`,
      {
        details: [
          'plans are applied on the console that saved them (the same data directory); plan again there',
        ],
      },
    );
  }
  const expected = Buffer.from(integrityOf(body as Omit<SavedPlan, 'integrity'>, key));
  const got = Buffer.from(isString(integrity) ? integrity : '');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new RmmError(
      'invalid-input',
      `${file} was changed after \`rmm plan\` saved it, or was saved by another console; nothing was applied`,
      {
        details: [
          'a saved plan is applied only exactly as it was saved, on the console (data directory) that saved it',
          'compute and review a new plan: rmm plan --out FILE',
        ],
      },
    );
  }
  checkShape(saved, file);
  return saved as unknown as SavedPlan;
}

/** The structure apply relies on, for a file that passed the integrity check (a bug, or an old key leaked). */
function checkShape(saved: Record<string, unknown>, file: string): void {
  const fail = (what: string) => {
    throw new RmmError('invalid-input', `${file} holds ${what}; nothing was applied`);
  };
  if (typeof saved.revision !== 'number' || !Number.isInteger(saved.revision)) fail('no state revision');
  const scope = saved.scope as ApplyScope | undefined;
  if (
    !isObject(scope) ||
    !isString(scope.set) ||
    !Array.isArray(scope.prune) ||
    !scope.prune.every((e) => isObject(e) && isString(e.key) && typeof e.folder === 'boolean')
  )
    fail('no apply set and prune scope');
  if (typeof saved.prune !== 'boolean' || typeof saved.takeOver !== 'boolean')
    fail('no --prune or --take-over');
  if (!Array.isArray(saved.changes)) fail('no changes');
  const bad = (saved.changes as unknown[]).find((c) => !isChange(c));
  if (bad !== undefined) fail(`a change rmm cannot apply: ${JSON.stringify(bad).slice(0, 200)}`);
  const migration = saved.migration;
  if (
    !Array.isArray(migration) ||
    !migration.every(
      (s) => isObject(s) && isString(s.summary) && Array.isArray(s.sql) && s.sql.every(isString),
    )
  )
    fail('schema steps rmm cannot read');
}

function isChange(value: unknown): value is ResourceChange {
  if (!isObject(value)) return false;
  const { action, kind, name, fields, desired, source } = value;
  if (!isString(action) || !ACTIONS.has(action) || !isKind(kind) || !isString(name) || !NAME.test(name))
    return false;
  if (!Array.isArray(fields)) return false;
  if (action === 'delete') return true;
  return isObject(desired) && (source === undefined || isString(source));
}
