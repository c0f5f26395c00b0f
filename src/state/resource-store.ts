import type { Plan, StoredResource } from '../engine/plan.js';
import { RmmError } from '../errors.js';
import { KINDS, type Kind } from '../resources/kinds.js';
import type { Db } from './connection.js';
import { fromRow, KIND_TABLES, type SqlValue, toRow } from './resource-rows.js';

/** Every resource row of the four kinds' tables, managed by rmm or not, as views. */
export function readStoredResources(db: Db): StoredResource[] {
  const managed = new Map<string, { Labels: string; Settings: string }>();
  for (const row of db.prepare('SELECT Kind, Name, Labels, Settings FROM ManagedResources').all() as Array<{
    Kind: string;
    Name: string;
    Labels: string;
    Settings: string;
  }>) {
    managed.set(`${row.Kind}/${row.Name}`, row);
  }
  const out: StoredResource[] = [];
  for (const kind of KINDS) {
    const spec = KIND_TABLES[kind];
    const columns = [spec.key, ...Object.values(spec.columns)].map((c) => `"${c}"`).join(', ');
    for (const row of db.prepare(`SELECT ${columns} FROM "${spec.table}"`).all() as Array<
      Record<string, SqlValue>
    >) {
      const name = String(row[spec.key]);
      const own = managed.get(`${kind}/${name}`);
      out.push({
        kind,
        name,
        managed: own !== undefined,
        fields: fromRow(kind, row, own?.Labels ?? null, own?.Settings ?? null),
      });
    }
  }
  return out;
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
  const upsertManaged = db.prepare(
    `INSERT INTO ManagedResources (Kind, Name, Labels, Settings, AppliedAt) VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)
     ON CONFLICT (Kind, Name) DO UPDATE SET Labels = excluded.Labels, Settings = excluded.Settings, AppliedAt = CURRENT_TIMESTAMP`,
  );
  const deleteManaged = db.prepare('DELETE FROM ManagedResources WHERE Kind = ? AND Name = ?');
  for (const change of plan.changes) {
    let s = statements.get(change.kind);
    if (!s) {
      s = prepareFor(db, change.kind);
      statements.set(change.kind, s);
    }
    const target = `${change.kind}/${change.name}`;
    try {
      if (change.action === 'delete') {
        s.remove.run(change.name);
        deleteManaged.run(change.kind, change.name);
      } else {
        const row = toRow(change.kind, change.desired ?? {});
        const values = [...Object.values(row.columns), change.name];
        if (change.action === 'create') s.insert.run(...values);
        else s.update.run(...values);
        upsertManaged.run(change.kind, change.name, row.labels, row.settings);
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
      JSON.stringify({ fields: change.fields, adopt: change.adopt ?? false }),
    );
  }
  db.prepare(
    `INSERT INTO RmmMeta (Key, Value, UpdatedAt) VALUES (?, '1', CURRENT_TIMESTAMP)
     ON CONFLICT (Key) DO UPDATE SET Value = CAST(Value AS INTEGER) + 1, UpdatedAt = CURRENT_TIMESTAMP`,
  ).run(STATE_REVISION_KEY);
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
  };
}
