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
import type { TransportSchemas } from '../resources/transport-options.js';
import { openDatabase } from '../state/connection.js';
import { openResourceDatabase, type ResourceDatabase } from '../state/resource-database.js';
import { stateRevision } from '../state/resource-store.js';
import { readStoredDeviceRefs, readStoredResourceRefs } from '../state/stored-refs.js';
import { phase } from '../timing.js';
import {
  type DeclaredResource,
  type StoredRefs,
  type ValidationResult,
  validateInputs,
} from '../validate.js';
import { type PlannedAgainst, planAgainst } from './plan.js';

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
}

export async function checkInputs(
  inputs: readonly string[],
  options: { recursive: boolean; dataDir: string; transportSchemas?: TransportSchemas },
): Promise<CheckedInputs> {
  // References resolve against what the database holds as well as the input; the plan must then be
  // computed at the same revision, or those checks may not hold for it.
  const known = openStoredState(options.dataDir);
  try {
    // The warm cache lives in the data directory `rmm init` made; without one, nothing is cached.
    const cacheDir = path.join(options.dataDir, 'cache');
    const validation = await validateInputs(inputs, {
      recursive: options.recursive,
      collect: true,
      ...(existsSync(cacheDir) ? { cacheDir } : {}),
      ...(options.transportSchemas ? { transportSchemas: options.transportSchemas } : {}),
      ...(known.refs ? { stored: known.refs } : {}),
    });
    return {
      inputs,
      recursive: options.recursive,
      validation,
      ...(known.revision !== undefined ? { revision: known.revision } : {}),
      storedRefs: known.read(),
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
): ResourceDatabase & { planned: PlannedAgainst } {
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
    const planned = planAgainst(opened.db, desired, planOptions, opened.migration);
    if (checked.revision !== undefined && planned.revision !== checked.revision) {
      throw new RmmError(
        'stale-plan',
        'the database changed since this plan was computed (another apply committed while the input was checked); nothing was changed',
        { details: ['compute a new plan and review it'] },
      );
    }
    checkKeptReferences(planned.plan, checked.storedRefs, resources);
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
