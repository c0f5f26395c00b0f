/**
 * The normalized shape of a table, shared by the declared schema (schemas/database.yaml) and the live
 * one (read back from SQLite). Both sides are reduced to the same model so that the diff compares like
 * with like; nothing here knows where a TableSchema came from.
 */

/** The table rmm keeps its bookkeeping in (the schema hash); every declared schema must have it. */
export const META_TABLE = 'RmmMeta';
export const SCHEMA_HASH_KEY = 'schema_hash';

export type ForeignKeyAction = 'NO ACTION' | 'RESTRICT' | 'SET NULL' | 'SET DEFAULT' | 'CASCADE';

export interface ColumnSchema {
  name: string;
  /** The declared SQLite type, as written (compare with sameType: SQLite ignores case). */
  type: string;
  notNull: boolean;
  /** The DEFAULT clause's SQL text (`'Unknown'`, `5`, `CURRENT_TIMESTAMP`), or null for none. */
  defaultSql: string | null;
  /**
   * Declared only: the SQL expression over the live row that a table rebuild copies into this column
   * instead of the column itself (a value whose form changed, such as text dates turned epoch ms). It
   * runs on every rebuild, so it must leave values already in the new form as they are.
   */
  rebuildFrom?: string;
}

export interface ForeignKeySchema {
  /** Columns of the child table (this one). */
  columns: string[];
  /** The parent table. */
  table: string;
  /** The parent's columns, in the same order as `columns`. */
  references: string[];
  onDelete: ForeignKeyAction;
  onUpdate: ForeignKeyAction;
}

export interface IndexSchema {
  name: string;
  columns: string[];
  unique: boolean;
  /** A partial index's WHERE expression, whitespace collapsed (sameWhere); absent for a full index. */
  where?: string;
}

/** A trigger on a table: its CREATE TRIGGER text, whitespace collapsed (how it is kept and compared). */
export interface TriggerSchema {
  name: string;
  sql: string;
}

export interface TableSchema {
  name: string;
  /** In declaration order (the order CREATE TABLE writes them). */
  columns: ColumnSchema[];
  /** Empty for a rowid table without a declared key. */
  primaryKey: string[];
  autoincrement: boolean;
  foreignKeys: ForeignKeySchema[];
  indexes: IndexSchema[];
  /** Absent or empty for a table without triggers (older models, tests that build tables by hand). */
  triggers?: TriggerSchema[];
}

export type SeedValue = string | number | null;

/** A row declared under `seed:`, inserted once when its key is missing. */
export interface SeedRow {
  table: string;
  values: Record<string, SeedValue>;
  /** The columns that identify the row: the table's primary key when the row gives it, else all given columns. */
  keyColumns: string[];
}

/** SQLite compares type names without regard to case or the spaces around a size: `varchar (10)` is `VARCHAR(10)`. */
export function sameType(a: string, b: string): boolean {
  return normalizeType(a) === normalizeType(b);
}

function normalizeType(type: string): string {
  return type
    .toUpperCase()
    .replace(/\s+/g, ' ')
    .replace(/\s*([(),])\s*/g, '$1')
    .trim();
}

/**
 * Two DEFAULT clauses that mean the same thing: an absent default and `DEFAULT NULL` are equal, and
 * keywords (CURRENT_TIMESTAMP) are case-insensitive; quoted strings are compared exactly.
 */
export function sameDefault(a: string | null, b: string | null): boolean {
  return normalizeDefault(a) === normalizeDefault(b);
}

function normalizeDefault(sql: string | null): string | null {
  if (sql === null) return null;
  const text = sql.trim();
  if (text.startsWith("'")) return text;
  const upper = text.toUpperCase();
  return upper === 'NULL' ? null : upper;
}

/** True when the default is a constant SQLite accepts in ALTER TABLE ADD COLUMN (not CURRENT_* or an expression). */
export function isConstantDefault(sql: string | null): boolean {
  if (sql === null) return true;
  const text = sql.trim();
  return (
    /^'(?:[^']|'')*'$/.test(text) ||
    /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/.test(text) ||
    /^NULL$/i.test(text)
  );
}

/** A default that leaves the column NULL when a row does not give a value. */
export function isNullDefault(sql: string | null): boolean {
  return normalizeDefault(sql) === null;
}

/** SQL text with runs of whitespace made one space: how a partial index's WHERE is kept and compared. */
export function collapseWhitespace(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim();
}

/** SQLite identifiers are case-insensitive: `devices` and `Devices` name the same table. */
export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function findByName<T extends { name: string }>(items: readonly T[], name: string): T | undefined {
  return items.find((item) => sameName(item.name, name));
}

/** A stable identity for a seed row: its table and key values. Used to tell which seed rows exist. */
export function seedRowKey(row: SeedRow): string {
  return JSON.stringify([row.table.toLowerCase(), ...row.keyColumns.map((c) => row.values[c] ?? null)]);
}

/** A SQL literal for a value: strings quoted with quotes doubled, numbers in decimal, null as NULL. */
export function sqlLiteral(value: SeedValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') return String(value);
  return `'${value.replaceAll("'", "''")}'`;
}

/** A double-quoted SQL identifier, with embedded quotes doubled. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The first 12 hex digits of a schema hash: enough to tell schemas apart in a message. */
export function shortHash(hash: string | null): string {
  return hash === null ? 'none' : hash.slice(0, 12);
}
