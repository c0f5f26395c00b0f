import { existsSync } from 'node:fs';
import path from 'node:path';
import { requireDatabaseFile } from '../data-dir.js';
import { errorCount } from '../diagnostics/diagnostic.js';
import { type ApplyScope, resolveApplySet } from '../engine/apply-set.js';
import { danglingReferences } from '../engine/kept-references.js';
import type { DesiredResource, Plan } from '../engine/plan.js';
import { ImageView } from '../engine/resource-view.js';
import { RmmError } from '../errors.js';
import { fieldsOfImage } from '../formats/row-image.js';
import { pruneScopeOf, sourceKeyer } from '../load/source-keys.js';
import { databaseFile } from '../paths.js';
import { type ResourceRefs, refsOfFields } from '../resources/cross-references.js';
import type { Kind } from '../resources/kinds.js';
import type { TransportSchemas } from '../resources/transport-options.js';
import { type Db, openDatabase } from '../state/connection.js';
import { loadDeclaredSchema } from '../state/declared-schema.js';
import { pendingMigration } from '../state/pending-migration.js';
import { openResourceDatabase, type ResourceDatabase, schemaCache } from '../state/resource-database.js';
import { stateRevision } from '../state/resource-store.js';
import { type ManifestState, type ManifestUpdate, readManifestState } from '../state/source-manifests.js';
import { readStoredDeviceRefs, readStoredResourceRefs } from '../state/stored-refs.js';
import { figures, phase } from '../timing.js';
import {
  type DeclaredResource,
  type StoredRefs,
  type ValidationResult,
  validateInputs,
} from '../validate.js';
import { contentKeyer, FileSelection, whyFull } from './incremental.js';
import { type PlannedAgainst, planAgainst, planSubset } from './plan.js';

/**
 * `rmm plan` and `rmm apply -f` in two steps, so that the caller shows the validation between them:
 * checkInputs validates the input, references resolving against what the database holds as well;
 * planCheckedInputs, once the input is valid, plans it against the database at the same revision.
 * Before the input is checked, the database is only read (the references it holds), so invalid input
 * never changes it. (Planning while worker threads still check the documents was tried: on 2 cores
 * the workers already use both, so it gained nothing and held 200 MB more at the peak.)
 */
export interface CheckedInputs {
  inputs: readonly string[];
  recursive: boolean;
  validation: ValidationResult;
  /** The state revision the stored references were read at; none without a database yet. */
  revision?: number;
  /** Every stored reference the checks read. */
  storedRefs: readonly ResourceRefs[];
  /** The files read, with their content keys, and those left unread (incremental): see incremental.ts. */
  selection?: FileSelection;
  /** The newest edit mark when the manifests were read (apply settles marks up to it). */
  editSeq?: number;
  /** Set when files were left unread: the plan compares only what the read files and prune touch. */
  incremental?: boolean;
}

export interface CheckOptions {
  recursive: boolean;
  dataDir: string;
  transportSchemas?: TransportSchemas;
  /** --apply-set, else $RMM_APPLY_SET, else the default set: whose manifests are read. */
  applySet?: string;
  /** Leave unread the files whose manifests say they are as applied (default true; --no-incremental). */
  incremental?: boolean;
  /** Keep each read file's content key, for the manifests apply writes. */
  recordKeys?: boolean;
}

const NO_MANIFESTS: ManifestState = { manifests: new Map(), owned: new Map(), edited: new Set(), editSeq: 0 };

export async function checkInputs(inputs: readonly string[], options: CheckOptions): Promise<CheckedInputs> {
  // References resolve against what the database holds as well as the input; the plan must then be
  // computed at the same revision, or those checks may not hold for it.
  const applySet = resolveApplySet(options.applySet);
  const known = openStoredState(options.dataDir, applySet);
  try {
    // The warm cache lives in the data directory `rmm init` made; without one, nothing is cached.
    const cacheDir = path.join(options.dataDir, 'cache');
    const base = {
      recursive: options.recursive,
      collect: true,
      ...(existsSync(cacheDir) ? { cacheDir } : {}),
      ...(options.transportSchemas ? { transportSchemas: options.transportSchemas } : {}),
    };
    const keyOfText = contentKeyer(options.transportSchemas);
    // Nothing to leave unread before this set's first apply -f, nor when stdin is an input.
    const shortWay =
      known.manifests &&
      known.manifests.manifests.size > 0 &&
      options.incremental !== false &&
      !inputs.includes('-');
    if (shortWay && known.manifests && known.db && known.refs) {
      const selection = new FileSelection(known.manifests, sourceKeyer(), keyOfText, true);
      // Stored devices matter to the checks only through declared sites, groups and relays: when
      // the files read declare devices alone, they are not read at all.
      const refs = known.refs;
      const stored: StoredRefs = {
        resources: refs.resources,
        devices: (declared, kinds) =>
          [...kinds].every((k) => k === 'Device') ? [] : refs.devices(declared, kinds),
      };
      const validation = await validateInputs(inputs, { ...base, stored, skipFile: selection.skip });
      const scope = { set: applySet, prune: pruneScopeOf(inputs, options.recursive, sourceKeyer()) };
      const why =
        selection.unread.size === 0
          ? 'every file changed'
          : whyFull(known.db, validation, selection, scope, known.refs.resources);
      figures(
        'incremental',
        why ? { read: 'all', why } : { read: selection.keys.size, unread: selection.unread.size },
      );
      // With every file read (the one-file layout, say) this was the full check: it stands.
      if (why && selection.unread.size === 0) {
        return {
          inputs,
          recursive: options.recursive,
          validation,
          ...(known.revision !== undefined ? { revision: known.revision } : {}),
          storedRefs: known.read(),
          ...(options.recordKeys ? { selection } : {}),
          editSeq: known.manifests.editSeq,
        };
      }
      if (!why) {
        return {
          inputs,
          recursive: options.recursive,
          validation,
          ...(known.revision !== undefined ? { revision: known.revision } : {}),
          storedRefs: known.read(),
          selection,
          editSeq: known.manifests.editSeq,
          incremental: true,
        };
      }
    }
    // Without the tables yet (the apply's migration makes them), keys are still kept for its manifests.
    const selection =
      options.recordKeys && known.db
        ? new FileSelection(known.manifests ?? NO_MANIFESTS, sourceKeyer(), keyOfText, false)
        : undefined;
    const validation = await validateInputs(inputs, {
      ...base,
      ...(known.refs ? { stored: known.refs } : {}),
      ...(selection ? { skipFile: selection.skip } : {}),
    });
    return {
      inputs,
      recursive: options.recursive,
      validation,
      ...(known.revision !== undefined ? { revision: known.revision } : {}),
      storedRefs: known.read(),
      ...(selection ? { selection } : {}),
      ...(known.db ? { editSeq: known.manifests?.editSeq ?? 0 } : {}),
    };
  } finally {
    known.close();
  }
}

export function planCheckedInputs(
  checked: CheckedInputs,
  options: {
    dataDir: string;
    prune: boolean;
    readonly: boolean;
    /** --apply-set, else $RMM_APPLY_SET, else the default set. */
    applySet?: string;
    takeOver?: boolean;
  },
  verb: string,
): ResourceDatabase & { planned: PlannedAgainst; manifests?: ManifestUpdate } {
  // The caller showed the problems already (views/diagnostics); this only keeps invalid input out.
  if (errorCount(checked.validation.diagnostics) > 0)
    throw new RmmError('invalid-input', `the declared resources are invalid; nothing was ${verb}`);
  const resources = checked.validation.resources;
  const keyOf = sourceKeyer();
  const scope: ApplyScope = {
    set: resolveApplySet(options.applySet),
    prune: pruneScopeOf(checked.inputs, checked.recursive, keyOf),
  };
  const opened = openResourceDatabase(options.dataDir, {
    readonly: options.readonly,
    pendingMigration: true,
  });
  try {
    const planOptions = { prune: options.prune, scope, takeOver: options.takeOver ?? false };
    const desired = resources.map((r) => declaredView(r, keyOf));
    phase('opened, declared views');
    if (checked.incremental && opened.migration.steps.length > 0)
      throw new RmmError(
        'stale-plan',
        'the database schema changed while the input was checked; nothing was changed',
        {
          details: ['compute a new plan'],
        },
      );
    const planned = checked.incremental
      ? planSubset(opened.db, desired, planOptions, [...(checked.selection?.unread ?? [])])
      : planAgainst(opened.db, desired, planOptions, opened.migration);
    if (checked.revision !== undefined && planned.revision !== checked.revision) {
      throw new RmmError(
        'stale-plan',
        'the database changed since this plan was computed (another apply committed while the input was checked); nothing was changed',
        { details: ['compute a new plan and review it'] },
      );
    }
    checkKeptReferences(planned.plan, checked.storedRefs, resources);
    return { ...opened, planned, manifests: manifestUpdate(checked, planned.plan, keyOf) };
  } catch (error) {
    opened.db.close();
    throw error;
  }
}

/**
 * The references the database holds, the state revision they were read at and the apply set's
 * manifests, while the input is checked: sites, policies and groups at once, stored devices once the
 * declared ones are known (StoredRefs). Nothing when there is no database yet (opening it afterwards
 * says what to do). No manifests while schema steps are pending: the edit marks are then not known
 * to be kept.
 */
function openStoredState(
  dataDir: string,
  applySet: string,
): {
  refs?: StoredRefs;
  revision?: number;
  db?: Db;
  manifests?: ManifestState;
  /** Every stored ref read so far. */
  read(): ResourceRefs[];
  close(): void;
} {
  const file = databaseFile(dataDir);
  if (!existsSync(file)) return { read: () => [], close: () => {} };
  requireDatabaseFile(file);
  const db = openDatabase(file, { readonly: true });
  try {
    const current = pendingMigration(db, loadDeclaredSchema(undefined, schemaCache(dataDir))).plan.steps;
    const { resources, revision, manifests } = db.transaction(() => ({
      resources: readStoredResourceRefs(db),
      revision: stateRevision(db),
      manifests: current.length === 0 ? readManifestState(db, applySet) : undefined,
    }))();
    let devices: readonly ResourceRefs[] = [];
    const refs: StoredRefs = {
      resources,
      devices: (declared) => {
        devices = readStoredDeviceRefs(db, declared);
        return devices;
      },
    };
    return {
      refs,
      revision,
      db,
      ...(manifests ? { manifests } : {}),
      read: () => [...resources, ...devices],
      close: () => db.close(),
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * What apply -f records about the files this plan read (source-manifests.ts): their manifests when
 * the check found nothing at all (else they are forgotten, and read again next time), the manifests
 * a resource moves away from forgotten, and the marks of every resource compared settled.
 */
function manifestUpdate(
  checked: CheckedInputs,
  plan: Plan,
  keyOf: (file: string) => string,
): ManifestUpdate | undefined {
  const selection = checked.selection;
  if (!selection || checked.editSeq === undefined) return undefined;
  const declared = new Map<string, Array<[Kind, string]>>();
  for (const file of selection.keys.keys()) declared.set(file, []);
  const compared: Array<[Kind, string]> = [];
  for (const r of checked.validation.resources) {
    declared.get(keyOf(r.source.file))?.push([r.kind, r.name]);
    compared.push([r.kind, r.name]);
  }
  for (const c of plan.changes) if (c.action === 'delete') compared.push([c.kind, c.name]);
  const clean = checked.validation.diagnostics.length === 0;
  const forget: ManifestUpdate['forget'] = [];
  for (const c of plan.changes)
    if (c.previousOwner?.set && c.previousOwner.source)
      forget.push({ applySet: c.previousOwner.set, file: c.previousOwner.source });
  if (!clean) for (const file of selection.keys.keys()) forget.push({ applySet: plan.scope.set, file });
  return {
    applySet: plan.scope.set,
    files: clean
      ? [...selection.keys].map(([file, key]) => ({ file, key, resources: declared.get(file) ?? [] }))
      : [],
    forget,
    compared,
    editSeq: checked.editSeq,
  };
}

function declaredView(
  { kind, name, image, source }: DeclaredResource,
  keyOf: (file: string) => string,
): DesiredResource {
  return Object.assign(new ImageView(kind, name, image, fieldsOfImage), { source: keyOf(source.file) });
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
