import type { Owner } from '../engine/apply-set.js';
import { imageOfChange, type Plan, type ResourceChange, type StoredResource } from '../engine/plan.js';
import { redactFieldChanges, redactFields } from '../engine/redact.js';
import type { Fields } from '../engine/resource-view.js';
import { RmmError } from '../errors.js';
import { KIND_TABLES, type SqlValue } from '../formats/kind-tables.js';
import { fieldsOfValues, imageHash, imageOf, imageOfValues } from '../formats/row-image.js';
import { KINDS, type Kind } from '../resources/kinds.js';
import type { Db } from './connection.js';
import { type DependentRows, dependentsOf } from './dependents.js';

/**
 * Every resource row of the four kinds' tables, managed by rmm or not. SQLite builds each row's image
 * (see imageOf) as one string, so reading 100,000 rows makes 100,000 small tuples, not object trees;
 * fields are decoded, and drift worked out, only for the rows a plan finds different.
 */
export function readStoredResources(db: Db): StoredResource[] {
  const out: StoredResource[] = [];
  for (const kind of KINDS) {
    const spec = KIND_TABLES[kind];
    const columns = Object.values(spec.columns).map((c) => `t."${c}"`);
    const rows = db
      .prepare(
        `SELECT t."${spec.key}", json_array(${columns.join(', ')}, m.Labels, m.Settings), m.AppliedHash,
           m.Kind IS NOT NULL, m.ApplySet, m.SourceFile
         FROM "${spec.table}" t LEFT JOIN ManagedResources m ON m.Kind = ? AND m.Name = t."${spec.key}"`,
      )
      .raw()
      .all(kind) as Array<[string, string, string | null, number, string | null, string | null]>;
    for (const [name, image, appliedHash, managed, set, source] of rows) {
      const owner = managed === 1 ? { set, source } : undefined;
      out.push(new StoredRow(kind, String(name), image, managed === 1, appliedHash, owner));
    }
  }
  return out;
}

export class StoredRow implements StoredResource {
  #fields: Fields | undefined;
  constructor(
    readonly kind: Kind,
    readonly name: string,
    readonly image: string,
    readonly managed: boolean,
    private readonly appliedHash: string | null,
    readonly owner: Owner | undefined,
  ) {}

  get fields(): Fields {
    this.#fields ??= fieldsOfValues(this.kind, this.values());
    return this.#fields;
  }

  /** The row no longer holds what apply last wrote (unknown, so false, for rows applied before hashes). */
  get drifted(): boolean {
    // Hashed over rmm's own encoding of the values, which is what apply hashed.
    return this.appliedHash !== null && imageHash(imageOfValues(this.values())) !== this.appliedHash;
  }

  private values(): SqlValue[] {
    return JSON.parse(this.image) as SqlValue[];
  }
}

export const STATE_REVISION_KEY = 'state_revision';

/** A counter bumped by every apply: a saved plan records it, and is stale once it moved. */
export function stateRevision(db: Db): number {
  const row = db.prepare('SELECT Value FROM RmmMeta WHERE Key = ?').get(STATE_REVISION_KEY) as
    | { Value: string }
    | undefined;
  return row ? Number(row.Value) : 0;
}

/**
 * Writes a plan's changes and their AuditLog rows. The caller owns the transaction, so that the
 * whole apply (and a schema migration before it) lands or not at all.
 */
export function writeChanges(db: Db, plan: Plan, actor: string): void {
  const statements = new Map<Kind, ReturnType<typeof prepareFor>>();
  const audit = db.prepare(
    'INSERT INTO AuditLog (User, Action, Target, Details, Success) VALUES (?, ?, ?, ?, 1)',
  );
  // The apply set and file are recorded with every write (a plan without sources keeps the old ones).
  const upsertManaged = db.prepare(
    `INSERT INTO ManagedResources (Kind, Name, Labels, Settings, AppliedHash, ApplySet, SourceFile, AppliedAt)
     VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
     ON CONFLICT (Kind, Name) DO UPDATE SET Labels = excluded.Labels, Settings = excluded.Settings,
       AppliedHash = excluded.AppliedHash, ApplySet = coalesce(excluded.ApplySet, ApplySet),
       SourceFile = coalesce(excluded.SourceFile, SourceFile), AppliedAt = CURRENT_TIMESTAMP`,
  );
  const deleteManaged = db.prepare('DELETE FROM ManagedResources WHERE Kind = ? AND Name = ?');
  for (const change of plan.changes) {
    let s = statements.get(change.kind);
    if (!s) {
      s = prepareFor(db, change.kind);
      statements.set(change.kind, s);
    }
    const target = `${change.kind}/${change.name}`;
    let removed: DependentRows[] = [];
    try {
      if (change.action === 'delete') {
        // Observed rows that point at it (a device's inventory, alerts, metrics) go with it.
        removed = s.dependents.remove(change.name);
        s.remove.run(change.name);
        deleteManaged.run(change.kind, change.name);
      } else {
        const image = imageOfChange(change) ?? imageOf(change.kind, change.desired ?? {});
        const values = JSON.parse(image) as SqlValue[];
        const columns = values.slice(0, s.columns);
        if (change.action === 'create') s.insert.run(...columns, change.name);
        else s.update.run(...columns, change.name);
        const [labels, settings] = values.slice(s.columns);
        const set = change.source !== undefined ? plan.scope.set : null;
        upsertManaged.run(
          change.kind,
          change.name,
          labels,
          settings,
          imageHash(image),
          set,
          change.source ?? null,
        );
      }
    } catch (error) {
      throw new RmmError(
        'database',
        `apply failed at ${change.action} ${target}: ${(error as Error).message}`,
        {
          details: ['the transaction was rolled back; nothing was changed'],
          cause: error,
        },
      );
    }
    audit.run(
      actor,
      `apply.${change.action} ${target}`,
      target,
      JSON.stringify({ ...auditDetails(change, removed), applySet: plan.scope.set }),
    );
  }
  db.prepare(
    `INSERT INTO RmmMeta (Key, Value, UpdatedAt) VALUES (?, '1', CURRENT_TIMESTAMP)
     ON CONFLICT (Key) DO UPDATE SET Value = CAST(Value AS INTEGER) + 1, UpdatedAt = CURRENT_TIMESTAMP`,
  ).run(STATE_REVISION_KEY);
}

/**
 * What AuditLog.Details records: for an update the field diff; for a create the declared fields,
 * for a delete the last stored ones (the same information as a diff from or to nothing, at a third
 * of the size, which counts when one apply creates 100,000 devices).
 */
function auditDetails(change: ResourceChange, removed: DependentRows[]): Record<string, unknown> {
  // Values are references at most, never secrets; sensitive ones are masked anyway, as in plans.
  // A create's fields are its desired state (engine/plan everyField): masked whole, without the list.
  if (change.action === 'create' && change.desired) {
    const created = redactFields(change.kind, change.desired);
    return withFlags({ created }, change, removed);
  }
  const fields = redactFieldChanges(change.kind, change.fields);
  const fieldsOf = (side: 'before' | 'after') =>
    Object.fromEntries(fields.map((f) => [f.path.join('.'), f[side] ?? null]));
  const details: Record<string, unknown> =
    change.action === 'create'
      ? { created: fieldsOf('after') }
      : change.action === 'delete'
        ? { deleted: fieldsOf('before') }
        : { fields };
  return withFlags(details, change, removed);
}

function withFlags(
  details: Record<string, unknown>,
  change: ResourceChange,
  removed: DependentRows[],
): Record<string, unknown> {
  if (change.adopt) details.adopt = true;
  if (change.drift) details.drift = true;
  if (change.previousOwner) details.previousOwner = change.previousOwner;
  if (change.source !== undefined) details.source = change.source;
  if (removed.length > 0) details.dependentsDeleted = removed;
  return details;
}

function prepareFor(db: Db, kind: Kind) {
  const spec = KIND_TABLES[kind];
  const columns = Object.values(spec.columns);
  const quoted = columns.map((c) => `"${c}"`);
  const stamp = spec.updatedAt ? `, "${spec.updatedAt}" = CURRENT_TIMESTAMP` : '';
  return {
    insert: db.prepare(
      `INSERT INTO "${spec.table}" (${quoted.join(', ')}, "${spec.key}") VALUES (${columns.map(() => '?').join(', ')}, ?)`,
    ),
    update: db.prepare(
      `UPDATE "${spec.table}" SET ${quoted.map((c) => `${c} = ?`).join(', ')}${stamp} WHERE "${spec.key}" = ?`,
    ),
    remove: db.prepare(`DELETE FROM "${spec.table}" WHERE "${spec.key}" = ?`),
    dependents: dependentsOf(db, spec.table, spec.key),
    /** How many of an image's values are columns (Labels and Settings follow). */
    columns: columns.length,
  };
}
