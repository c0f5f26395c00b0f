import type { Db } from './connection.js';
import type {
  ForeignKeyAction,
  ForeignKeySchema,
  IndexSchema,
  SeedRow,
  TableSchema,
} from './table-schema.js';
import {
  collapseWhitespace,
  findByName,
  META_TABLE,
  quoteIdentifier,
  SCHEMA_HASH_KEY,
  sameName,
  seedRowKey,
} from './table-schema.js';

/** What a live database holds, in the same model as the declared schema. */
export interface LiveDatabase {
  /** User tables in sqlite_master order; SQLite's own (sqlite_*) are left out. */
  tables: TableSchema[];
  /** The hash recorded by the last migration, or null (no RmmMeta, or never recorded). */
  schemaHash: string | null;
  /** seedRowKey() of the declared seed rows found in the database. */
  presentSeedRows: string[];
}

interface ColumnInfo {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}
interface ForeignKeyInfo {
  id: number;
  seq: number;
  table: string;
  from: string;
  to: string | null;
  on_update: string;
  on_delete: string;
}
interface IndexListInfo {
  name: string;
  unique: number;
  origin: string;
  partial: number;
}

/** Reads the live schema through sqlite_master and the table-valued PRAGMA functions; never writes. */
export function inspectDatabase(db: Db, seeds: readonly SeedRow[] = []): LiveDatabase {
  const rows = db
    .prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
    )
    .all() as { name: string; sql: string | null }[];
  const tables = rows.map((row) => inspectTable(db, row.name, row.sql ?? ''));
  resolveImplicitParentKeys(tables);
  return {
    tables,
    schemaHash: recordedHash(db, tables),
    presentSeedRows: presentSeedRows(db, tables, seeds),
  };
}

function inspectTable(db: Db, name: string, sql: string): TableSchema {
  const info = db
    .prepare('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)')
    .all(name) as ColumnInfo[];
  const primaryKey = info
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((c) => c.name);
  return {
    name,
    columns: info.map((c) => ({
      name: c.name,
      type: c.type,
      notNull: c.notnull === 1,
      defaultSql: c.dflt_value,
    })),
    primaryKey,
    // Only an INTEGER PRIMARY KEY can be AUTOINCREMENT, and the keyword exists nowhere but in the SQL text.
    autoincrement: /\bAUTOINCREMENT\b/i.test(sql),
    foreignKeys: inspectForeignKeys(db, name),
    indexes: inspectIndexes(db, name),
    ...triggersOf(db, name),
  };
}

/** The table's triggers as SQLite keeps their text; none is no `triggers` at all, as declared. */
function triggersOf(db: Db, table: string): Pick<TableSchema, 'triggers'> {
  const rows = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? ORDER BY name")
    .all(table) as Array<{ name: string; sql: string }>;
  if (rows.length === 0) return {};
  return { triggers: rows.map((r) => ({ name: r.name, sql: collapseWhitespace(r.sql) })) };
}

function inspectForeignKeys(db: Db, table: string): ForeignKeySchema[] {
  const rows = db
    .prepare('SELECT * FROM pragma_foreign_key_list(?) ORDER BY id, seq')
    .all(table) as ForeignKeyInfo[];
  const byId = new Map<number, ForeignKeyInfo[]>();
  for (const row of rows) byId.set(row.id, [...(byId.get(row.id) ?? []), row]);
  // PRAGMA lists constraints in reverse order of declaration; restore the order of CREATE TABLE.
  return [...byId.keys()]
    .sort((a, b) => b - a)
    .map((id) => {
      const parts = byId.get(id) as ForeignKeyInfo[];
      const first = parts[0] as ForeignKeyInfo;
      return {
        columns: parts.map((p) => p.from),
        table: first.table,
        // `to` is null when the clause names no columns (REFERENCES T): filled in from T's key below.
        references: parts.map((p) => p.to ?? ''),
        onDelete: first.on_delete as ForeignKeyAction,
        onUpdate: first.on_update as ForeignKeyAction,
      };
    });
}

/** `REFERENCES Devices` without columns means Devices' primary key. */
function resolveImplicitParentKeys(tables: readonly TableSchema[]): void {
  for (const table of tables) {
    for (const fk of table.foreignKeys) {
      if (fk.references.every((c) => c !== '')) continue;
      const parent = findByName(tables, fk.table);
      if (parent && parent.primaryKey.length === fk.columns.length) fk.references = [...parent.primaryKey];
    }
  }
}

/** Only indexes made by CREATE INDEX (origin 'c'): those behind UNIQUE and PRIMARY KEY belong to the table. */
function inspectIndexes(db: Db, table: string): IndexSchema[] {
  const list = db
    .prepare('SELECT name, "unique", origin, partial FROM pragma_index_list(?)')
    .all(table) as IndexListInfo[];
  return list
    .filter((i) => i.origin === 'c' && !i.name.startsWith('sqlite_autoindex_'))
    .map((i) => {
      const index: IndexSchema = {
        name: i.name,
        columns: (
          db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').all(i.name) as {
            name: string;
          }[]
        ).map((c) => c.name),
        unique: i.unique === 1,
      };
      if (i.partial === 1) index.where = whereOf(indexSql(db, i.name));
      return index;
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

function indexSql(db: Db, name: string): string {
  const sql = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").pluck().get(name);
  return typeof sql === 'string' ? sql : '';
}

/**
 * A partial index's WHERE expression, from its CREATE INDEX text (SQLite keeps it nowhere else): what
 * follows the parenthesis that closes the column list, found by depth with quoted names skipped.
 */
export function whereOf(createIndexSql: string): string {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < createIndexSql.length; i++) {
    const ch = createIndexSql[i] as string;
    if (quote !== null) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '[') quote = ']';
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) {
      return collapseWhitespace(createIndexSql.slice(i + 1).replace(/^\s*WHERE\b/i, ''));
    }
  }
  return '';
}

function recordedHash(db: Db, tables: readonly TableSchema[]): string | null {
  const meta = findByName(tables, META_TABLE);
  if (!meta || !['Key', 'Value'].every((c) => findByName(meta.columns, c))) return null;
  const row = db
    .prepare(`SELECT "Value" AS value FROM ${quoteIdentifier(meta.name)} WHERE "Key" = ?`)
    .get(SCHEMA_HASH_KEY) as { value: unknown } | undefined;
  return typeof row?.value === 'string' ? row.value : null;
}

/** Which declared seed rows exist, matched on their key columns (a row whose table or columns are missing does not). */
function presentSeedRows(db: Db, tables: readonly TableSchema[], seeds: readonly SeedRow[]): string[] {
  const present: string[] = [];
  for (const seed of seeds) {
    const table = findByName(tables, seed.table);
    if (!table || !seed.keyColumns.every((c) => table.columns.some((col) => sameName(col.name, c)))) continue;
    const where = seed.keyColumns.map((c) => `${quoteIdentifier(c)} IS ?`).join(' AND ');
    const found = db
      .prepare(`SELECT 1 FROM ${quoteIdentifier(table.name)} WHERE ${where} LIMIT 1`)
      .get(...seed.keyColumns.map((c) => seed.values[c] ?? null));
    if (found) present.push(seedRowKey(seed));
  }
  return present;
}
