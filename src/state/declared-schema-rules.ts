import type { PathSegment } from '../diagnostics/diagnostic.js';
import type { ErrorObject } from '../resources/ajv.js';
import { pathOf, problemsFromAjv } from '../resources/ajv-messages.js';
import { suggest } from '../suggest.js';
import { primaryKeyOf, type RawSchema, type RawTable } from './declared-schema-shape.js';
import { META_TABLE, sameName } from './table-schema.js';

/** A problem in schemas/database.yaml, at a key or a value of the parsed file. */
export interface Problem {
  path: PathSegment[];
  at: 'key' | 'value';
  message: string;
}

/** AJV's errors in words, with the two `not` rules of database.schema.json explained. */
export function schemaProblems(errors: readonly ErrorObject[]): Problem[] {
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
export function semanticProblems(schema: RawSchema): Problem[] {
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

    // The statement must create the trigger it is declared as, on this table: else the diff would
    // look for one name and SQLite hold another, and every migration would create it again.
    for (const [triggerName, trigger] of Object.entries(table.triggers ?? {})) {
      const head = /^\s*CREATE TRIGGER\s+("?)([A-Za-z0-9_]+)\1\s[\s\S]*?\sON\s+("?)([A-Za-z0-9_]+)\3\s/i.exec(
        trigger.sql,
      );
      if (!head || !sameName(head[2] as string, triggerName) || !sameName(head[4] as string, tableName))
        report(
          [...at, 'triggers', triggerName, 'sql'],
          `must be CREATE TRIGGER ${triggerName} ... ON ${tableName} ...: the name and table it is declared under`,
        );
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

function isParentKey(parent: RawTable, columns: readonly string[]): boolean {
  const same = (a: readonly string[]) =>
    a.length === columns.length && a.every((c) => columns.some((k) => sameName(c, k)));
  return (
    same(primaryKeyOf(parent)) ||
    // A partial index is unique only among the rows it holds, which SQLite does not take as a parent key.
    Object.values(parent.indexes ?? {}).some((i) => i.unique && i.where === undefined && same(i.columns))
  );
}
