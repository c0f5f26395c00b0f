import type { Db } from './connection.js';
import { quoteIdentifier as q } from './table-schema.js';

/**
 * Rows that point at a resource's row through a foreign key: a device's Inventory, Alerts and
 * Metrics, observed by transports. Pruning the device removes them with it (they cannot outlive it),
 * so the plan counts them and apply deletes them first, in the same transaction. Found from the
 * live foreign keys, so a table a newer schema adds is covered without a list to keep up to date.
 */
export interface DependentRows {
  table: string;
  rows: number;
}

interface Reference {
  table: string;
  column: string;
}

/** The tables whose single-column foreign keys point at `table`'s `key`. */
export function referencesTo(db: Db, table: string, key: string): Reference[] {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  const out: Reference[] = [];
  for (const child of tables) {
    const keys = db
      .prepare('SELECT "table", "from", "to" FROM pragma_foreign_key_list(?)')
      .all(child) as Array<{
      table: string;
      from: string;
      to: string | null;
    }>;
    for (const fk of keys)
      if (fk.table === table && (fk.to === key || fk.to === null))
        out.push({ table: child, column: fk.from });
  }
  return out;
}

/** Counting and deleting the rows that point at one table's rows, with statements prepared once. */
export function dependentsOf(db: Db, table: string, key: string) {
  const refs = referencesTo(db, table, key).map((ref) => ({
    table: ref.table,
    count: db.prepare(`SELECT count(*) FROM ${q(ref.table)} WHERE ${q(ref.column)} = ?`).pluck(),
    remove: db.prepare(`DELETE FROM ${q(ref.table)} WHERE ${q(ref.column)} = ?`),
  }));
  return {
    count(value: string): DependentRows[] {
      return refs
        .map((ref) => ({ table: ref.table, rows: ref.count.get(value) as number }))
        .filter((d) => d.rows > 0);
    },
    remove(value: string): DependentRows[] {
      return refs
        .map((ref) => ({ table: ref.table, rows: ref.remove.run(value).changes }))
        .filter((d) => d.rows > 0);
    },
  };
}
