import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PathSegment } from '../diagnostics/diagnostic.js';
import { formatDiagnostic } from '../diagnostics/render.js';
import { RmmError } from '../errors.js';
import { locator, parsePrecise } from '../load/precise-parse.js';
import { databaseSchemaFile } from '../paths.js';
import { createAjv, type ErrorObject, type ValidateFunction } from '../resources/ajv.js';
import { pathOf, problemsFromAjv } from '../resources/ajv-messages.js';
import { readSchemaFile } from '../resources/schemas.js';
import { suggest } from '../suggest.js';
import { cachedSchemaModel } from './schema-cache.js';
import type { ColumnSchema, ForeignKeyAction, SeedRow, SeedValue, TableSchema } from './table-schema.js';
import { collapseWhitespace, META_TABLE, sameName, sqlLiteral } from './table-schema.js';

/**
 * schemas/database.yaml, read and checked: YAML syntax, then database.schema.json, then the rules a
 * JSON Schema cannot express (a foreign key names a declared table and columns, and so on). The result
 * is the same normalized model inspect.ts reads from a live database, plus a hash of it.
 */

export interface DeclaredSchema {
  /** The file as given. */
  file: string;
  /** How to name the file to a person: `schemas/database.yaml` for the packaged one. */
  label: string;
  /** In file order. */
  tables: TableSchema[];
  seeds: SeedRow[];
  /** sha256 (hex) of the canonical JSON of tables and seeds; descriptions do not count. */
  hash: string;
}

// The parsed file's shape once database.schema.json accepted it.
interface RawColumn {
  type: string;
  primaryKey?: boolean;
  autoincrement?: boolean;
  notNull?: boolean;
  default?: string | number;
  defaultExpr?: string;
  rebuildFrom?: string;
}
interface RawForeignKey {
  columns: string[];
  references: { table: string; columns: string[] };
  onDelete?: ForeignKeyAction;
  onUpdate?: ForeignKeyAction;
}
interface RawTable {
  description?: string;
  columns: Record<string, RawColumn>;
  primaryKey?: string[];
  foreignKeys?: RawForeignKey[];
  indexes?: Record<string, { columns: string[]; unique?: boolean; where?: string }>;
}
interface RawSchema {
  tables: Record<string, RawTable>;
  seed?: Record<string, Record<string, SeedValue>[]>;
}

interface Problem {
  path: PathSegment[];
  at: 'key' | 'value';
  message: string;
}

/**
 * With a cacheDir (the data directory's cache/), a file checked valid before is not checked again
 * (see schema-cache.ts); `rmm init` and `rmm db` always check in full.
 */
export function loadDeclaredSchema(
  file: string = databaseSchemaFile,
  options: { cacheDir?: string } = {},
): DeclaredSchema {
  const label = labelOf(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new RmmError('invalid-schema', `cannot read ${label}: ${reason}`, { cause: error });
  }
  if (options.cacheDir) {
    const model = cachedSchemaModel(options.cacheDir, text, () => checkDeclaredSchema(file, label, text));
    return { file, label, ...model };
  }
  return checkDeclaredSchema(file, label, text);
}

function checkDeclaredSchema(file: string, label: string, text: string): DeclaredSchema {
  const where = displayPath(file);
  const invalid = (lines: string[]) =>
    new RmmError('invalid-schema', `${label} is invalid`, { details: lines });

  const parsed = parsePrecise(text);
  if (!parsed.ok) throw invalid(parsed.problems.map((p) => line(where, p.line + 1, p.column + 1, p.message)));

  const validate = databaseValidator();
  const problems: Problem[] = validate(parsed.value)
    ? semanticProblems(parsed.value as RawSchema)
    : schemaProblems(validate.errors ?? []);
  if (problems.length > 0) {
    const locate = locator(text);
    const located = problems.map((p) => ({ ...locate(p.path, p.at), message: p.message }));
    located.sort((a, b) => a.line - b.line || a.column - b.column);
    throw invalid(located.map((p) => line(where, p.line + 1, p.column + 1, p.message)));
  }
  return normalize(file, label, parsed.value as RawSchema);
}

let validator: ValidateFunction | undefined;

/** Compiled on first use, then reused: the schema file does not change while rmm runs. */
function databaseValidator(): ValidateFunction {
  validator ??= createAjv().compile(readSchemaFile('database.schema.json'));
  return validator;
}

function line(file: string, lineNo: number, column: number, message: string): string {
  return formatDiagnostic({ severity: 'error', code: 'schema', file, line: lineNo, column, message });
}

function labelOf(file: string): string {
  return path.resolve(file) === databaseSchemaFile ? 'schemas/database.yaml' : displayPath(file);
}

/** A file named for people: relative to the working directory when inside it (short, and editors resolve it), else absolute. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(file));
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : path.resolve(file);
}

/** AJV's errors in words, with the two `not` rules of database.schema.json explained. */
function schemaProblems(errors: readonly ErrorObject[]): Problem[] {
  const problems: Problem[] = [];
  const rest: ErrorObject[] = [];
  for (const error of errors) {
    if (error.keyword === 'not' && error.schemaPath.endsWith('/column/not')) {
      problems.push({
        path: pathOf(error.instancePath),
        at: 'value',
        message: 'give either default or defaultExpr, not both',
      });
    } else if (error.keyword === 'not' && error.schemaPath.endsWith('/identifier/not')) {
      const name = (error as ErrorObject & { propertyName?: string }).propertyName;
      const at = name === undefined ? 'value' : 'key';
      const where = name === undefined ? pathOf(error.instancePath) : [...pathOf(error.instancePath), name];
      problems.push({ path: where, at, message: 'names starting with sqlite_ are reserved by SQLite' });
    } else if (error.schemaPath.includes('/dependentSchemas/autoincrement/')) {
      const needs = error.schemaPath.includes('/type/') ? 'type INTEGER' : 'primaryKey: true';
      problems.push({
        path: pathOf(error.instancePath),
        at: 'value',
        message: `autoincrement needs ${needs}`,
      });
    } else {
      rest.push(error);
    }
  }
  return [...problems, ...problemsFromAjv(rest)];
}

/** The rules database.schema.json cannot express: every name a table refers to must exist. */
function semanticProblems(schema: RawSchema): Problem[] {
  const problems: Problem[] = [];
  const tableNames = Object.keys(schema.tables);
  const report = (p: PathSegment[], message: string, at: 'key' | 'value' = 'value') =>
    problems.push({ path: p, at, message });
  const unknown = (what: string, name: string, known: readonly string[], inTable?: string) => {
    const hint = suggest(name, known);
    return `${what} "${name}" is not declared${inTable ? ` in ${inTable}` : ''}${hint ? `; did you mean "${hint}"?` : ''}`;
  };

  checkCaseDuplicates(tableNames, (name, first) =>
    report(
      ['tables', name],
      `table "${name}" is the same table as "${first}" (SQLite names ignore case)`,
      'key',
    ),
  );
  const indexOwners = new Map<string, string>();
  for (const [tableName, table] of Object.entries(schema.tables)) {
    const at = ['tables', tableName];
    const columnNames = Object.keys(table.columns);
    checkCaseDuplicates(columnNames, (name, first) =>
      report(
        [...at, 'columns', name],
        `column "${name}" is the same column as "${first}" (SQLite names ignore case)`,
        'key',
      ),
    );
    const hasColumn = (name: string) => columnNames.some((c) => sameName(c, name));

    const keyColumns = columnNames.filter((c) => table.columns[c]?.primaryKey);
    if (table.primaryKey && keyColumns.length > 0) {
      for (const c of keyColumns) {
        report(
          [...at, 'columns', c, 'primaryKey'],
          `table "${tableName}" declares its primary key twice: remove this or the table's primaryKey`,
        );
      }
    } else if (keyColumns.length > 1) {
      for (const c of keyColumns.slice(1)) {
        report(
          [...at, 'columns', c, 'primaryKey'],
          `only one column can set primaryKey; for a composite key write primaryKey: [${keyColumns.join(', ')}] on the table`,
        );
      }
    }
    (table.primaryKey ?? []).forEach((c, i) => {
      if (!hasColumn(c)) report([...at, 'primaryKey', i], unknown('column', c, columnNames));
    });

    (table.foreignKeys ?? []).forEach((fk, i) => {
      const fkAt = [...at, 'foreignKeys', i];
      fk.columns.forEach((c, j) => {
        if (!hasColumn(c)) report([...fkAt, 'columns', j], unknown('column', c, columnNames));
      });
      const parentName = tableNames.find((t) => sameName(t, fk.references.table));
      const parent = parentName === undefined ? undefined : schema.tables[parentName];
      if (!parent || parentName === undefined) {
        report([...fkAt, 'references', 'table'], unknown('table', fk.references.table, tableNames));
        return;
      }
      const parentColumns = Object.keys(parent.columns);
      const missing = fk.references.columns.filter((c) => !parentColumns.some((p) => sameName(p, c)));
      fk.references.columns.forEach((c, j) => {
        if (missing.includes(c))
          report([...fkAt, 'references', 'columns', j], unknown('column', c, parentColumns, parentName));
      });
      if (fk.columns.length !== fk.references.columns.length) {
        report(
          fkAt,
          `the foreign key has ${fk.columns.length} column(s) but references ${fk.references.columns.length}`,
        );
      } else if (missing.length === 0 && !isParentKey(parent, fk.references.columns)) {
        // SQLite accepts such a key at CREATE TABLE and then fails every write with "foreign key mismatch".
        report(
          [...fkAt, 'references', 'columns'],
          `${parentName}(${fk.references.columns.join(', ')}) is neither its primary key nor a unique index, which SQLite requires of a foreign key's parent`,
        );
      }
    });

    for (const [indexName, index] of Object.entries(table.indexes ?? {})) {
      const indexAt = [...at, 'indexes', indexName];
      index.columns.forEach((c, j) => {
        if (!hasColumn(c)) report([...indexAt, 'columns', j], unknown('column', c, columnNames));
      });
      const owner = indexOwners.get(indexName.toLowerCase());
      if (owner !== undefined) {
        report(
          indexAt,
          `index "${indexName}" is already declared on table ${owner} (index names are shared by the whole database)`,
          'key',
        );
      } else if (tableNames.some((t) => sameName(t, indexName))) {
        report(
          indexAt,
          `index "${indexName}" has the name of a table (SQLite shares one namespace for both)`,
          'key',
        );
      }
      indexOwners.set(indexName.toLowerCase(), tableName);
    }
  }

  const meta = tableNames.find((t) => sameName(t, META_TABLE));
  const metaColumns = meta === undefined ? [] : Object.keys(schema.tables[meta]?.columns ?? {});
  if (!['Key', 'Value'].every((c) => metaColumns.some((m) => sameName(m, c)))) {
    report(
      ['tables'],
      `table ${META_TABLE} with columns Key and Value must be declared: rmm records the schema hash there`,
    );
  }

  for (const [tableName, rows] of Object.entries(schema.seed ?? {})) {
    const declaredName = tableNames.find((t) => sameName(t, tableName));
    const table = declaredName === undefined ? undefined : schema.tables[declaredName];
    if (!table) {
      report(['seed', tableName], unknown('table', tableName, tableNames), 'key');
      continue;
    }
    const columnNames = Object.keys(table.columns);
    const key = primaryKeyOf(table);
    const autoKey = key.length === 1 && table.columns[key[0] as string]?.autoincrement;
    rows.forEach((row, i) => {
      const given = Object.keys(row);
      for (const c of given) {
        if (!columnNames.some((n) => sameName(n, c)))
          report(['seed', tableName, i, c], unknown('column', c, columnNames, tableName), 'key');
      }
      const has = (c: string) => given.some((g) => sameName(g, c));
      const missingKey = key.filter((c) => !has(c));
      if (missingKey.length > 0 && !autoKey) {
        report(
          ['seed', tableName, i],
          `a seed row must give the primary key (${missingKey.join(', ')}) so rmm can tell whether it exists`,
        );
      }
      for (const [c, column] of Object.entries(table.columns)) {
        const required = column.notNull && column.default === undefined && column.defaultExpr === undefined;
        if (required && !has(c))
          report(['seed', tableName, i], `a seed row must give ${c} (NOT NULL without a default)`);
      }
    });
  }
  return problems;
}

function checkCaseDuplicates(
  names: readonly string[],
  onDuplicate: (name: string, first: string) => void,
): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    const first = seen.get(name.toLowerCase());
    if (first === undefined) seen.set(name.toLowerCase(), name);
    else onDuplicate(name, first);
  }
}

function primaryKeyOf(table: RawTable): string[] {
  return table.primaryKey ?? Object.keys(table.columns).filter((c) => table.columns[c]?.primaryKey);
}

function isParentKey(parent: RawTable, columns: readonly string[]): boolean {
  const same = (a: readonly string[]) =>
    a.length === columns.length && a.every((c) => columns.some((k) => sameName(c, k)));
  return (
    same(primaryKeyOf(parent)) ||
    // A partial index is unique only among the rows it holds, which SQLite does not take as a parent key.
    Object.values(parent.indexes ?? {}).some((i) => i.unique && i.where === undefined && same(i.columns))
  );
}

function normalize(file: string, label: string, schema: RawSchema): DeclaredSchema {
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
    tables: byName(tables).map((t) => ({ ...t, indexes: byName(t.indexes) })),
    seed: seeds.map((s) => ({ table: s.table, values: s.values })),
  };
  return createHash('sha256').update(canonicalJson(structure)).digest('hex');
}

/** JSON with object keys sorted, so equal structures always give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
