import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { requireDatabaseFile, requireWritableDatabase } from './data-dir.js';
import { errorCount } from './diagnostics/diagnostic.js';
import { formatDiagnostic } from './diagnostics/render.js';
import { type ApplyScope, resolveApplySet } from './engine/apply-set.js';
import { danglingReferences } from './engine/kept-references.js';
import {
  computePlan,
  type DesiredResource,
  type Plan,
  type PlanOptions,
  type StoredResource,
} from './engine/plan.js';
import { ImageView } from './engine/resource-view.js';
import { parseSavedPlan } from './engine/saved-plan.js';
import { rederiveSavedPlan } from './engine/saved-plan-check.js';
import { RmmError } from './errors.js';
import { pruneScopeOf, sourceKeyer } from './load/source-keys.js';
import { databaseFile } from './paths.js';
import { type ResourceRefs, refsOfFields } from './resources/cross-references.js';
import { setTransportSchemas, type TransportSchemas } from './resources/transport-options.js';
import { type Db, memoryCopy, openDatabase } from './state/connection.js';
import { loadDeclaredSchema } from './state/declared-schema.js';
import { dependentsOf } from './state/dependents.js';
import { withMigration } from './state/migrate.js';
import type { MigrationPlan, MigrationStep } from './state/migration-plan.js';
import { pendingMigration } from './state/pending-migration.js';
import { readPlanKey } from './state/plan-key.js';
import { fieldsOfImage, KIND_TABLES } from './state/resource-rows.js';
import { readStoredResources, stateRevision, writeChanges } from './state/resource-store.js';
import { readStoredDeviceRefs, readStoredRefs, readStoredResourceRefs } from './state/stored-refs.js';
import { phase } from './timing.js';
import { type DeclaredResource, type StoredRefs, validateInputs } from './validate.js';
import { renderValidation } from './views/diagnostics.js';

/** A plan and the state revision it was computed against. */
export interface RevisionedPlan {
  plan: Plan;
  revision: number;
  /** The schema steps the database is behind, which apply runs first in the same transaction. */
  migration: MigrationStep[];
}

/**
 * The declared resources, all valid, or an error listing every problem. Plan and apply call it
 * before the database is opened for the plan, so invalid input never changes it; `stored` (read
 * beforehand) lets references resolve against what the database holds.
 */
export async function loadValidResources(
  inputs: readonly string[],
  options: {
    recursive: boolean;
    dataDir: string;
    transportSchemas?: TransportSchemas;
    stored?: StoredRefs;
  },
  verb: string,
): Promise<DeclaredResource[]> {
  // The warm cache lives in the data directory `rmm init` made; without one, nothing is cached.
  const cacheDir = path.join(options.dataDir, 'cache');
  const validation = await validateInputs(inputs, {
    recursive: options.recursive,
    collect: true,
    ...(existsSync(cacheDir) ? { cacheDir } : {}),
    ...(options.transportSchemas ? { transportSchemas: options.transportSchemas } : {}),
    ...(options.stored ? { stored: options.stored } : {}),
  });
  if (errorCount(validation.diagnostics) > 0) {
    throw new RmmError('invalid-input', `the declared resources are invalid; nothing was ${verb}`, {
      details: renderValidation(validation, false).split('\n'),
    });
  }
  // Warnings do not stop plan or apply, but are shown (on stderr: stdout holds the plan).
  for (const warning of validation.diagnostics) process.stderr.write(`${formatDiagnostic(warning)}\n`);
  return validation.resources;
}

/**
 * Validates the inputs, then plans them against the database: `rmm plan` and `rmm apply -f`. Before
 * the input is checked, the database is only read (the references it holds); it is opened for the
 * plan only once the input is valid. (Planning while worker threads still check the
 * documents was tried: on 2 cores the workers already use both, so it gained nothing and held
 * 200 MB more at the peak.)
 */
export async function planInputs(
  inputs: readonly string[],
  options: {
    recursive: boolean;
    dataDir: string;
    prune: boolean;
    readonly: boolean;
    /** --apply-set, else $RMM_APPLY_SET, else the default set. */
    applySet?: string;
    takeOver?: boolean;
    transportSchemas?: TransportSchemas;
  },
  verb: string,
): Promise<ResourceDatabase & { planned: PlannedAgainst }> {
  // References resolve against what the database holds as well as the input; the plan below must
  // then be computed at the same revision, or those checks may not hold for it.
  const known = openStoredState(options.dataDir);
  let resources: DeclaredResource[];
  try {
    resources = await loadValidResources(inputs, { ...options, stored: known.refs }, verb);
  } finally {
    known.close();
  }
  const keyOf = sourceKeyer();
  const scope: ApplyScope = {
    set: resolveApplySet(options.applySet),
    prune: pruneScopeOf(inputs, options.recursive, keyOf),
  };
  const opened = openResourceDatabase(options.dataDir, {
    readonly: options.readonly,
    pendingMigration: true,
  });
  try {
    const planOptions = { prune: options.prune, scope, takeOver: options.takeOver ?? false };
    const desired = resources.map((r) => declaredView(r, keyOf));
    const planned = planAgainst(opened.db, desired, planOptions, opened.migration);
    if (known.revision !== undefined && planned.revision !== known.revision) {
      throw new RmmError(
        'stale-plan',
        'the database changed since this plan was computed (another apply committed while the input was checked); nothing was changed',
        { details: ['compute a new plan and review it'] },
      );
    }
    checkKeptReferences(planned.plan, known.read(), resources);
    return { ...opened, planned };
  } catch (error) {
    opened.db.close();
    throw error;
  }
}

/**
 * The references the database holds, and the state revision they were read at, while the input is
 * checked: sites, policies and groups at once, stored devices once the declared ones are known
 * (StoredRefs). Nothing when there is no database yet (opening it afterwards says what to do).
 */
function openStoredState(dataDir: string): {
  refs?: StoredRefs;
  revision?: number;
  /** Every stored ref read so far. */
  read(): ResourceRefs[];
  close(): void;
} {
  const file = databaseFile(dataDir);
  if (!existsSync(file)) return { read: () => [], close: () => {} };
  requireDatabaseFile(file);
  const db = openDatabase(file, { readonly: true });
  try {
    const { resources, revision } = db.transaction(() => ({
      resources: readStoredResourceRefs(db),
      revision: stateRevision(db),
    }))();
    let devices: readonly ResourceRefs[] = [];
    const refs: StoredRefs = {
      resources,
      devices: (declared) => {
        devices = readStoredDeviceRefs(db, declared);
        return devices;
      },
    };
    return { refs, revision, read: () => [...resources, ...devices], close: () => db.close() };
  } catch (error) {
    db.close();
    throw error;
  }
}

function declaredView(
  { kind, name, image, source }: DeclaredResource,
  keyOf: (file: string) => string,
): DesiredResource {
  return Object.assign(new ImageView(kind, name, image, fieldsOfImage), { source: keyOf(source.file) });
}

/** A plan computed now, with the stored rows it was computed from (the blast radius reads them). */
export interface PlannedAgainst extends RevisionedPlan {
  stored: readonly StoredResource[];
}

/** A database opened for resource work, and the schema steps it is behind schemas/database.yaml. */
export interface ResourceDatabase {
  db: Db;
  file: string;
  migration: MigrationPlan;
}

/**
 * The console database for work on resources. `get` and `export` need it at the declared schema.
 * `plan` and `apply` accept a database behind it when the missing steps are safe: they show them, and
 * apply runs them in its own transaction. Destructive steps stop both, pointing at `rmm db apply`.
 */
export function openResourceDatabase(
  dataDir: string,
  options: { readonly?: boolean; pendingMigration?: boolean } = {},
): ResourceDatabase {
  const file = databaseFile(dataDir);
  requireDatabaseFile(file);
  if (!options.readonly) requireWritableDatabase(file);
  let db = openDatabase(file, { readonly: options.readonly ?? false });
  try {
    const { plan: migration } = pendingMigration(db, loadDeclaredSchema(undefined, schemaCache(dataDir)));
    if (migration.steps.length === 0) return { db, file, migration };
    if (!options.pendingMigration) {
      throw new RmmError('database', 'the database schema is behind schemas/database.yaml', {
        details: [
          'see the pending steps: rmm db plan',
          'apply them: rmm db apply (or rmm apply, which runs them)',
        ],
      });
    }
    if (migration.destructive) {
      throw new RmmError(
        'destructive-refused',
        'the database schema is behind schemas/database.yaml and catching up would lose data; nothing was changed',
        {
          details: [
            ...migration.steps.filter((s) => s.destructive).map((s) => `- ${s.summary}`),
            'review the steps: rmm db plan',
            'apply them knowingly: rmm db apply --allow-destructive',
          ],
        },
      );
    }
    // Planning over pending steps runs them in a transaction that is rolled back: on a copy, so that
    // a read-only plan never takes the write lock, and works for a user who may not write the file.
    if (options.readonly) {
      const copy = memoryCopy(db);
      db.close();
      db = copy;
    }
    return { db, file, migration };
  } catch (error) {
    db.close();
    throw error;
  }
}

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
 * Refuses a prune that would leave a kept resource naming one it destroys (a device in a pruned
 * site): the same check as a reference to an undeclared resource, applied to the plan's outcome.
 */
function checkKeptReferences(
  plan: Plan,
  stored: readonly ResourceRefs[],
  resources: readonly DeclaredResource[],
): void {
  const dangling = danglingReferences(plan, stored, function* () {
    for (const r of resources) yield refsOfFields(r.kind, r.name, fieldsOfImage(r.kind, r.image));
  });
  if (dangling.length === 0) return;
  const targets = new Set(dangling.map((d) => `${d.target.kind}/${d.target.name}`)).size;
  throw new RmmError(
    'invalid-input',
    `--prune would destroy ${targets === 1 ? 'a resource' : `${targets} resources`} that kept resources still refer to; nothing was changed`,
    {
      details: [
        ...dangling
          .slice(0, 20)
          .map(
            (d) =>
              `- ${d.target.kind}/${d.target.name}: ${d.referrer.kind}/${d.referrer.name} (${d.referrer.declared ? 'declared in the input' : 'in the database, outside this prune'}) refers to it in ${d.field}`,
          ),
        ...(dangling.length > 20 ? [`- and ${dangling.length - 20} more`] : []),
        'remove or change those references first, or prune them in the same apply',
      ],
    },
  );
}

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

/** Says, for each delete, which observed rows go with it: the reviewer sees what prune really removes. */
function countDependents(db: Db, plan: Plan): void {
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

const NO_MIGRATION: MigrationPlan = { steps: [], destructive: false, needsForeignKeysOff: false };

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

/**
 * A declared resource that another apply set owns is neither changed nor taken over silently: the
 * plan is refused, naming the owner, unless --take-over was given (docs/apply-sets.md).
 */
export function checkOwnership(plan: Plan): void {
  if (plan.conflicts.length === 0) return;
  const n = plan.conflicts.length;
  throw new RmmError(
    'ownership-conflict',
    `${n} declared resource${n === 1 ? ' is' : 's are'} owned by another apply set; nothing was changed`,
    {
      details: [
        ...plan.conflicts
          .slice(0, 20)
          .map((c) => `- ${c.kind}/${c.name}: owned by apply set "${c.owner.set}" (from ${c.owner.source})`),
        ...(n > 20 ? [`- and ${n - 20} more`] : []),
        `this input applies as set "${plan.scope.set}"; remove these from it, apply it as their set with --apply-set, or move them to this set with --take-over`,
      ],
    },
  );
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
    writeChanges(db, planned.plan, actor);
    phase('written (before COMMIT)');
  });
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

/** The warm cache of the data directory `rmm init` made, for loadDeclaredSchema; none without one. */
function schemaCache(dataDir: string): { cacheDir?: string } {
  const cacheDir = path.join(dataDir, 'cache');
  return existsSync(cacheDir) ? { cacheDir } : {};
}
