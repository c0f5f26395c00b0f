import { DEFAULT_SITE, KINDS, type Kind } from '../resources/kinds.js';
import { type ApplyScope, DEFAULT_APPLY_SET, inScope, type Owner } from './apply-set.js';
import { diffFields, type FieldChange } from './field-diff.js';
import type { Fields, ResourceView } from './resource-view.js';

/**
 * The change set between declared and stored resources, as plain data. Rendering and applying read
 * the same value, so what the plan shows is what apply does. Pure: callers pass both states in.
 */
export type Action = 'create' | 'update' | 'delete';

export interface ResourceChange {
  action: Action;
  kind: Kind;
  name: string;
  /** Field by field; for a create every declared field, for a delete every stored one. */
  fields: FieldChange[];
  /** An existing row rmm did not create: apply takes ownership of it (and updates its fields). */
  adopt?: boolean;
  /** The row was changed outside rmm since the last apply; the update puts back the declared value. */
  drift?: boolean;
  /** For a delete: observed rows that point at the row (a device's inventory, alerts, metrics) and go with it. */
  dependents?: Array<{ table: string; rows: number }>;
  /** For create and update: the whole declared state apply writes (the fields above are what differs). */
  desired?: Fields;
  /** For create and update: the file that declares it, which apply records with the plan's apply set. */
  source?: string;
  /**
   * For an update that changes who owns the resource: the owner before. A set of null is a row
   * applied before owners were recorded (claimed now); the same set is a move between files; another
   * set is a take-over, planned only with --take-over.
   */
  previousOwner?: Owner;
}

/** A declared resource that another apply set owns: neither changed nor taken over without --take-over. */
export interface OwnershipConflict {
  kind: Kind;
  name: string;
  owner: Owner;
}

/** A desired resource, and the file that declares it (absent: ownership is not tracked, as in unit tests). */
export interface DesiredResource extends ResourceView {
  source?: string;
}

/** A resource as the database holds it, and whether rmm manages it (created it from YAML). */
export interface StoredResource extends ResourceView {
  managed: boolean;
  /** For a managed row: the apply set and file recorded by the apply that last wrote it. */
  readonly owner?: Owner;
  /** The row no longer holds what apply last wrote to it (someone changed it outside rmm). */
  readonly drifted?: boolean;
}

export interface Plan {
  /** The apply set planned for, and the files whose members it may prune. */
  scope: ApplyScope;
  changes: ResourceChange[];
  /** Members of this set in the prune scope, no longer declared, kept because --prune was not given. */
  undeclared: Array<{ kind: Kind; name: string }>;
  /** Declared resources owned by another apply set: the plan cannot be applied while there are any. */
  conflicts: OwnershipConflict[];
  /** Managed resources with no recorded owner that nothing declares: never pruned (docs/apply-sets.md). */
  unowned: number;
  summary: { add: number; change: number; destroy: number };
}

export interface PlanOptions {
  prune: boolean;
  /** The apply set and prune scope; without one, the default set with an empty scope (prunes nothing). */
  scope?: ApplyScope;
  /** Take over declared resources that another apply set owns, instead of refusing them. */
  takeOver?: boolean;
}

const ORDER = new Map<Kind, number>(KINDS.map((k, i) => [k, i]));

export function computePlan(
  desired: readonly DesiredResource[],
  stored: readonly StoredResource[],
  options: PlanOptions,
): Plan {
  const planner = new Planner(stored, options);
  for (const want of desired) planner.add(want);
  return planner.finish();
}

/** computePlan's state: the stored resources by kind and name, and what the declarations matched. */
class Planner {
  private readonly storedByKind = new Map<Kind, Map<string, StoredResource>>(
    KINDS.map((k) => [k, new Map()]),
  );
  /** Stored resources some declaration matched; the rest are no longer declared. */
  private readonly declared = new Set<StoredResource>();
  private readonly upserts: ResourceChange[] = [];
  private readonly conflicts: OwnershipConflict[] = [];
  private readonly scope: ApplyScope;

  constructor(
    private readonly stored: readonly StoredResource[],
    private readonly options: PlanOptions,
  ) {
    for (const s of stored) this.storedByKind.get(s.kind)?.set(s.name, s);
    this.scope = options.scope ?? { set: DEFAULT_APPLY_SET, prune: [] };
  }

  add(want: DesiredResource): void {
    const have = this.storedByKind.get(want.kind)?.get(want.name);
    const source = want.source !== undefined ? { source: want.source } : {};
    if (!have) {
      this.upserts.push(withImage(createChange(want, source), want.image));
      return;
    }
    this.declared.add(have);
    const previousOwner = have.managed ? this.ownerChange(want, have) : undefined;
    if (previousOwner === 'conflict') return;
    // Equal images are equal fields: most of a large no-op plan ends here, without decoding a row.
    if (!previousOwner && have.managed && want.image !== undefined && want.image === have.image) return;
    const fields = diffFields(have.fields, want.fields);
    if (fields.length === 0 && have.managed && !previousOwner) return;
    const change: ResourceChange = {
      action: 'update',
      kind: want.kind,
      name: want.name,
      fields,
      desired: want.fields,
      ...source,
    };
    if (!have.managed) change.adopt = true;
    else if (have.drifted) change.drift = true;
    if (previousOwner) change.previousOwner = previousOwner;
    this.upserts.push(withImage(change, want.image));
  }

  /**
   * How declaring `want` changes the owner of the managed row `have`: not at all (undefined), a
   * claim, a move between files of this set, a take-over (with --take-over), or a conflict.
   */
  private ownerChange(want: DesiredResource, have: StoredResource): Owner | 'conflict' | undefined {
    if (want.source === undefined) return undefined;
    const owner = have.owner ?? { set: null, source: null };
    if (owner.set === this.scope.set && owner.source === want.source) return undefined;
    if (owner.set !== null && owner.set !== this.scope.set && !this.options.takeOver) {
      this.conflicts.push({ kind: want.kind, name: want.name, owner });
      return 'conflict';
    }
    return owner;
  }

  finish(): Plan {
    const deletes: ResourceChange[] = [];
    const undeclared: Plan['undeclared'] = [];
    let unowned = 0;
    for (const have of this.stored) {
      // Only rows rmm created may go, only with --prune, never the default site, and only members of
      // this apply set declared by a file within the scope of the inputs.
      if (!have.managed || this.declared.has(have)) continue;
      if (have.kind === 'Site' && have.name === DEFAULT_SITE) continue;
      const owner = have.owner;
      if (!owner?.set || owner.source === null) {
        unowned++;
        continue;
      }
      if (owner.set !== this.scope.set || !inScope(this.scope.prune, owner.source)) continue;
      if (this.options.prune)
        deletes.push({
          action: 'delete',
          kind: have.kind,
          name: have.name,
          fields: diffFields(have.fields, {}),
        });
      else undeclared.push({ kind: have.kind, name: have.name });
    }
    // Parents first when creating (sites, policies, groups, devices); children first when deleting.
    const byKind = (a: ResourceChange, b: ResourceChange) =>
      (ORDER.get(a.kind) ?? 0) - (ORDER.get(b.kind) ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    const upserts = this.upserts.sort(byKind);
    deletes.sort((a, b) => -byKind(a, b));
    const changes = [...upserts, ...deletes];
    return {
      scope: this.scope,
      changes,
      undeclared,
      conflicts: this.conflicts,
      unowned,
      summary: {
        add: changes.filter((c) => c.action === 'create').length,
        change: changes.filter((c) => c.action === 'update').length,
        destroy: deletes.length,
      },
    };
  }
}

/** A new resource's fields as changes from nothing; what diffFields({}, fields) gives, without the walk. */
export function everyField(fields: Fields): FieldChange[] {
  return Object.keys(fields).map((key) => ({ path: [key], before: undefined, after: fields[key] }));
}

/**
 * A create's `fields` are every desired field, so they are derived from `desired` when read instead
 * of kept: held for 100,000 creates they were 2.8 million small objects, and the garbage collector's
 * passes over them cost a cold apply about 0.6 s. The property is still an own enumerable one, so
 * JSON output, saved plans and copies ({...change}) hold the fields as before.
 */
const DERIVED_FIELDS: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: ResourceChange): FieldChange[] {
    return everyField(this.desired ?? {});
  },
};

function createChange(want: DesiredResource, source: { source?: string }): ResourceChange {
  const change = { action: 'create', kind: want.kind, name: want.name } as ResourceChange;
  Object.defineProperty(change, 'fields', DERIVED_FIELDS);
  change.desired = want.fields;
  return Object.assign(change, source);
}

/**
 * The image of a change's desired state, when the declaration came with one: apply writes it without
 * re-encoding. A non-enumerable symbol property, so it is never part of JSON output, a saved plan or
 * a copy. (A WeakMap beside the changes cost 100,000 creates about 0.1 s more, in its own upkeep and
 * the garbage collector's.)
 */
const IMAGE = Symbol('image');

export function imageOfChange(change: ResourceChange): string | undefined {
  return (change as { [IMAGE]?: string })[IMAGE];
}

function withImage(change: ResourceChange, image: string | undefined): ResourceChange {
  if (image !== undefined) Object.defineProperty(change, IMAGE, { value: image });
  return change;
}
