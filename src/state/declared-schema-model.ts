import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import type { DeclaredSchema } from './declared-schema.js';
import { primaryKeyOf, type RawSchema, type RawTable } from './declared-schema-shape.js';
import type { ColumnSchema, SeedRow, TableSchema } from './table-schema.js';
import { collapseWhitespace, sameName, sqlLiteral } from './table-schema.js';

/**
 * A checked schemas/database.yaml turned into the normalized model that inspect.ts also reads from a
 * live database (table-schema.ts), and the hash that names it.
 */
export function normalizeSchema(file: string, label: string, schema: RawSchema): DeclaredSchema {
  const tables = Object.entries(schema.tables).map(([name, table]) => normalizeTable(name, table));
  const seeds: SeedRow[] = [];
  for (const [tableName, rows] of Object.entries(schema.seed ?? {})) {
    const table = tables.find((t) => sameName(t.name, tableName)) as TableSchema;
    for (const values of rows) {
      // The key columns as the row spells them (SQLite names ignore case; the row's lookup must not).
      const given = table.primaryKey.map((c) => Object.keys(values).find((k) => sameName(k, c)));
      const givesKey = given.length > 0 && given.every((c) => c !== undefined);
      seeds.push({
        table: table.name,
        values,
        keyColumns: givesKey ? (given as string[]) : Object.keys(values),
      });
    }
  }
  return { file, label, tables, seeds, hash: schemaHash(tables, seeds) };
}

function normalizeTable(name: string, table: RawTable): TableSchema {
  const columns: ColumnSchema[] = Object.entries(table.columns).map(([columnName, c]) => ({
    name: columnName,
    type: c.type,
    notNull: c.notNull ?? false,
    defaultSql: c.defaultExpr ?? (c.default === undefined ? null : sqlLiteral(c.default)),
    ...(c.rebuildFrom === undefined ? {} : { rebuildFrom: collapseWhitespace(c.rebuildFrom) }),
  }));
  return {
    name,
    columns,
    primaryKey: primaryKeyOf(table),
    autoincrement: Object.values(table.columns).some((c) => c.autoincrement),
    foreignKeys: (table.foreignKeys ?? []).map((fk) => ({
      columns: fk.columns,
      table: fk.references.table,
      references: fk.references.columns,
      onDelete: fk.onDelete ?? 'NO ACTION',
      onUpdate: fk.onUpdate ?? 'NO ACTION',
    })),
    indexes: Object.entries(table.indexes ?? {}).map(([indexName, i]) => ({
      name: indexName,
      columns: i.columns,
      unique: i.unique ?? false,
      ...(i.where === undefined ? {} : { where: collapseWhitespace(i.where) }),
    })),
    ...(table.triggers
      ? {
          triggers: Object.entries(table.triggers).map(([triggerName, t]) => ({
            name: triggerName,
            sql: collapseWhitespace(t.sql),
          })),
        }
      : {}),
  };
}

/**
 * The schema's identity. Tables and indexes are sorted by name (their order in the file changes
 * nothing in the database); column order is kept (it is the order of CREATE TABLE).
 */
export function schemaHash(tables: readonly TableSchema[], seeds: readonly SeedRow[]): string {
  const byName = <T extends { name: string }>(items: readonly T[]) =>
    [...items].sort((a, b) => (a.name < b.name ? -1 : 1));
  const structure = {
    tables: byName(tables).map((t) => ({
      ...t,
      indexes: byName(t.indexes),
      ...(t.triggers ? { triggers: byName(t.triggers) } : {}),
    })),
    seed: seeds.map((s) => ({ table: s.table, values: s.values })),
  };
  return createHash('sha256').update(canonicalJson(structure)).digest('hex');
}
