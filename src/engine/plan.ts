import { DEFAULT_SITE, KINDS, type Kind } from '../resources/kinds.js';
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
}

/** A resource as the database holds it, and whether rmm manages it (created it from YAML). */
export interface StoredResource extends ResourceView {
  managed: boolean;
  /** The row no longer holds what apply last wrote to it (someone changed it outside rmm). */
  readonly drifted?: boolean;
}

export interface Plan {
  changes: ResourceChange[];
  /** Managed resources no longer declared, left alone because --prune was not given. */
  undeclared: Array<{ kind: Kind; name: string }>;
  summary: { add: number; change: number; destroy: number };
}

export interface PlanOptions {
  prune: boolean;
}

const ORDER = new Map<Kind, number>(KINDS.map((k, i) => [k, i]));

export function computePlan(
  desired: readonly ResourceView[],
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

  constructor(
    private readonly stored: readonly StoredResource[],
    private readonly options: PlanOptions,
  ) {
    for (const s of stored) this.storedByKind.get(s.kind)?.set(s.name, s);
  }

  add(want: ResourceView): void {
    const have = this.storedByKind.get(want.kind)?.get(want.name);
    if (!have) {
      const change: ResourceChange = {
        action: 'create',
        kind: want.kind,
        name: want.name,
        fields: everyField(want.fields),
        desired: want.fields,
      };
      this.upserts.push(withImage(change, want.image));
      return;
    }
    this.declared.add(have);
    // Equal images are equal fields: most of a large no-op plan ends here, without decoding a row.
    if (have.managed && want.image !== undefined && want.image === have.image) return;
    const fields = diffFields(have.fields, want.fields);
    if (fields.length === 0 && have.managed) return;
    const change: ResourceChange = {
      action: 'update',
      kind: want.kind,
      name: want.name,
      fields,
      desired: want.fields,
    };
    if (!have.managed) change.adopt = true;
    else if (have.drifted) change.drift = true;
    this.upserts.push(withImage(change, want.image));
  }

  finish(): Plan {
    const deletes: ResourceChange[] = [];
    const undeclared: Plan['undeclared'] = [];
    for (const have of this.stored) {
      // Only rows rmm created may go, only with --prune, and never the default site.
      if (!have.managed || this.declared.has(have)) continue;
      if (have.kind === 'Site' && have.name === DEFAULT_SITE) continue;
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
      changes,
      undeclared,
      summary: {
        add: changes.filter((c) => c.action === 'create').length,
        change: changes.filter((c) => c.action === 'update').length,
        destroy: deletes.length,
      },
    };
  }
}

/** A new resource's fields as changes from nothing; what diffFields({}, fields) gives, without the walk. */
function everyField(fields: Fields): FieldChange[] {
  return Object.keys(fields).map((key) => ({ path: [key], before: undefined, after: fields[key] }));
}

/**
 * The image of a change's desired state, when the declaration came with one: apply writes it without
 * re-encoding. Kept beside the change, not in it, so it is never part of JSON output or a saved plan.
 */
const images = new WeakMap<ResourceChange, string>();

export function imageOfChange(change: ResourceChange): string | undefined {
  return images.get(change);
}

function withImage(change: ResourceChange, image: string | undefined): ResourceChange {
  if (image !== undefined) images.set(change, image);
  return change;
}
