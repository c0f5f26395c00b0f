import type { LiveDatabase } from './inspect.js';
import type {
  ColumnSchema,
  ForeignKeySchema,
  IndexSchema,
  SeedRow,
  TableSchema,
  TriggerSchema,
} from './table-schema.js';
import {
  collapseWhitespace,
  findByName,
  isConstantDefault,
  isNullDefault,
  sameDefault,
  sameName,
  sameType,
  seedRowKey,
} from './table-schema.js';

/**
 * What it takes to bring a live database to the declared schema, as data. Pure: no SQL, no I/O.
 * migration-plan.ts turns the changes into ordered SQL steps; migrate.ts runs them.
 */

export type SchemaChange =
  | { type: 'createTable'; table: TableSchema }
  | { type: 'dropTable'; table: TableSchema }
  | { type: 'addColumn'; table: string; column: ColumnSchema; foreignKey: ForeignKeySchema | null }
  | {
      type: 'rebuildTable';
      /** The declared table, as it will be. */
      table: TableSchema;
      /** The live table, as it is (the rebuild copies the columns both share). */
      live: TableSchema;
      /** Why ALTER TABLE cannot do it, for people: `column Severity: type TEXT -> INTEGER`. */
      reasons: string[];
      /** Live columns the declared table no longer has: their data is lost. */
      droppedColumns: string[];
    }
  | { type: 'createIndex'; table: string; index: IndexSchema }
  | { type: 'dropIndex'; table: string; index: IndexSchema }
  | { type: 'createTrigger'; table: string; trigger: TriggerSchema }
  | { type: 'dropTrigger'; table: string; trigger: TriggerSchema }
  | { type: 'insertSeedRow'; row: SeedRow }
  | { type: 'recordSchemaHash'; from: string | null; to: string };

export interface DeclaredModel {
  tables: readonly TableSchema[];
  seeds: readonly SeedRow[];
  hash: string;
}

/** True when applying the change loses data: a dropped table, or a rebuild that leaves columns behind. */
export function isDestructive(change: SchemaChange): boolean {
  switch (change.type) {
    case 'dropTable':
      return true;
    case 'rebuildTable':
      return change.droppedColumns.length > 0;
    case 'createTable':
    case 'addColumn':
    case 'createIndex':
    case 'dropIndex':
    case 'createTrigger':
    case 'dropTrigger':
    case 'insertSeedRow':
    case 'recordSchemaHash':
      return false;
    default:
      return unknownChange(change);
  }
}

/** For exhaustive switches: a change type added to SchemaChange but not handled fails to compile, and loudly at run time. */
export function unknownChange(change: never): never {
  throw new Error(`rmm bug: unhandled schema change ${JSON.stringify(change)}`);
}

export function diffSchemas(live: LiveDatabase, declared: DeclaredModel): SchemaChange[] {
  const changes: SchemaChange[] = [];
  const rebuilt = new Set<string>();
  for (const table of declared.tables) {
    const current = findByName(live.tables, table.name);
    if (!current) {
      changes.push({ type: 'createTable', table });
      continue;
    }
    const alteration = compareTable(current, table);
    if (alteration.rebuildReasons.length > 0) {
      rebuilt.add(current.name.toLowerCase());
      changes.push({
        type: 'rebuildTable',
        table,
        live: current,
        reasons: alteration.rebuildReasons,
        droppedColumns: alteration.droppedColumns,
      });
    } else {
      for (const added of alteration.addedColumns)
        changes.push({ type: 'addColumn', table: table.name, ...added });
    }
  }
  const dropped = live.tables.filter((t) => !findByName(declared.tables, t.name));
  changes.push(...diffIndexes(live.tables, declared.tables, rebuilt, dropped));
  changes.push(...diffTriggers(live.tables, declared.tables, rebuilt, dropped));
  for (const table of dropped) changes.push({ type: 'dropTable', table });
  const present = new Set(live.presentSeedRows);
  for (const row of declared.seeds) {
    if (!present.has(seedRowKey(row))) changes.push({ type: 'insertSeedRow', row });
  }
  if (live.schemaHash !== declared.hash)
    changes.push({ type: 'recordSchemaHash', from: live.schemaHash, to: declared.hash });
  return changes;
}

interface TableAlteration {
  /** Empty when ALTER TABLE ADD COLUMN (or nothing) is enough. */
  rebuildReasons: string[];
  droppedColumns: string[];
  addedColumns: { column: ColumnSchema; foreignKey: ForeignKeySchema | null }[];
}

function compareTable(live: TableSchema, declared: TableSchema): TableAlteration {
  const reasons: string[] = [];
  if (live.name !== declared.name) reasons.push(`table name ${live.name} -> ${declared.name}`);

  const droppedColumns = live.columns.filter((c) => !findByName(declared.columns, c.name)).map((c) => c.name);
  for (const name of droppedColumns) reasons.push(`column ${name} dropped`);
  for (const column of declared.columns) {
    const current = findByName(live.columns, column.name);
    if (current) reasons.push(...compareColumn(current, column));
  }

  if (!sameNames(live.primaryKey, declared.primaryKey)) {
    reasons.push(`primary key ${describeKey(live.primaryKey)} -> ${describeKey(declared.primaryKey)}`);
  }
  if (live.autoincrement !== declared.autoincrement)
    reasons.push(`AUTOINCREMENT ${declared.autoincrement ? 'added' : 'removed'}`);

  const newColumns = declared.columns.filter((c) => !findByName(live.columns, c.name));
  const foreignKeys = compareForeignKeys(live.foreignKeys, declared.foreignKeys);
  reasons.push(...foreignKeys.reasons);
  const addedColumns: TableAlteration['addedColumns'] = [];
  const addedFks = new Set<ForeignKeySchema>();
  for (const column of newColumns) {
    const fks = declared.foreignKeys.filter((fk) => fk.columns.some((c) => sameName(c, column.name)));
    const why = whyNotAddable(column, declared, fks);
    if (why) {
      reasons.push(`column ${column.name} added (${why})`);
    } else {
      const fk = fks[0] ?? null;
      if (fk) addedFks.add(fk);
      addedColumns.push({ column, foreignKey: fk });
    }
  }
  // A foreign key on a new column rides along with ADD COLUMN; any other new foreign key needs a rebuild.
  for (const fk of foreignKeys.added) {
    if (!addedFks.has(fk)) reasons.push(`foreign key ${describeForeignKey(fk)} added`);
  }
  if (reasons.length > 0) {
    // The rebuild creates the new columns as well; say so, since the plan shows only the reasons.
    for (const { column } of addedColumns) reasons.push(`column ${column.name} added`);
  }
  return { rebuildReasons: reasons, droppedColumns, addedColumns: reasons.length > 0 ? [] : addedColumns };
}

function compareColumn(live: ColumnSchema, declared: ColumnSchema): string[] {
  const parts: string[] = [];
  if (live.name !== declared.name) parts.push(`renamed to ${declared.name}`);
  if (!sameType(live.type, declared.type))
    parts.push(`type ${live.type || 'none'} -> ${declared.type || 'none'}`);
  if (live.notNull !== declared.notNull) parts.push(`NOT NULL ${declared.notNull ? 'added' : 'removed'}`);
  if (!sameDefault(live.defaultSql, declared.defaultSql)) {
    parts.push(`default ${live.defaultSql ?? 'none'} -> ${declared.defaultSql ?? 'none'}`);
  }
  return parts.length > 0 ? [`column ${live.name}: ${parts.join(', ')}`] : [];
}

/**
 * Why SQLite's ALTER TABLE ADD COLUMN cannot add this column (https://www.sqlite.org/lang_altertable.html,
 * section 5), or undefined when it can.
 */
function whyNotAddable(
  column: ColumnSchema,
  table: TableSchema,
  foreignKeys: readonly ForeignKeySchema[],
): string | undefined {
  if (table.primaryKey.some((c) => sameName(c, column.name))) return 'part of the primary key';
  if (!isConstantDefault(column.defaultSql)) return `default ${column.defaultSql} is not a constant`;
  if (column.notNull && isNullDefault(column.defaultSql)) return 'NOT NULL without a default';
  if (foreignKeys.length > 1 || foreignKeys.some((fk) => fk.columns.length > 1))
    return 'in a multi-column foreign key';
  if (foreignKeys.length === 1 && !isNullDefault(column.defaultSql))
    return 'a foreign key column with a non-null default';
  return undefined;
}

function compareForeignKeys(live: readonly ForeignKeySchema[], declared: readonly ForeignKeySchema[]) {
  const reasons: string[] = [];
  const added: ForeignKeySchema[] = [];
  const matched = new Set<ForeignKeySchema>();
  for (const fk of declared) {
    const current = live.find((l) => !matched.has(l) && sameTarget(l, fk));
    if (!current) {
      added.push(fk);
      continue;
    }
    matched.add(current);
    if (current.onDelete !== fk.onDelete) {
      reasons.push(`foreign key ${describeForeignKey(fk)}: ON DELETE ${current.onDelete} -> ${fk.onDelete}`);
    }
    if (current.onUpdate !== fk.onUpdate) {
      reasons.push(`foreign key ${describeForeignKey(fk)}: ON UPDATE ${current.onUpdate} -> ${fk.onUpdate}`);
    }
  }
  for (const fk of live) {
    if (!matched.has(fk)) reasons.push(`foreign key ${describeForeignKey(fk)} removed`);
  }
  return { reasons, added };
}

function sameTarget(a: ForeignKeySchema, b: ForeignKeySchema): boolean {
  return (
    sameNames(a.columns, b.columns) && sameName(a.table, b.table) && sameNames(a.references, b.references)
  );
}

/**
 * Index changes for the tables that stay. A rebuilt table recreates all its declared indexes itself
 * (DROP TABLE took the old ones along), and a dropped table takes its indexes with it. Index names are
 * global in SQLite, so a name found on another table is dropped before it is created again.
 */
function diffIndexes(
  liveTables: readonly TableSchema[],
  declaredTables: readonly TableSchema[],
  rebuilt: ReadonlySet<string>,
  droppedTables: readonly TableSchema[],
): SchemaChange[] {
  const changes: SchemaChange[] = [];
  const liveIndexes = liveTables.flatMap((t) => t.indexes.map((index) => ({ table: t.name, index })));
  const goesWithItsTable = (table: string) =>
    rebuilt.has(table.toLowerCase()) || droppedTables.some((t) => sameName(t.name, table));
  const handled = new Set<IndexSchema>();
  for (const table of declaredTables) {
    for (const index of table.indexes) {
      const current = liveIndexes.find((l) => sameName(l.index.name, index.name));
      const isRebuilt = rebuilt.has(table.name.toLowerCase());
      if (current && sameName(current.table, table.name) && sameIndex(current.index, index) && !isRebuilt) {
        handled.add(current.index);
        continue;
      }
      if (current && !(isRebuilt && sameName(current.table, table.name))) {
        handled.add(current.index);
        changes.push({ type: 'dropIndex', table: current.table, index: current.index });
      }
      if (!isRebuilt) changes.push({ type: 'createIndex', table: table.name, index });
    }
  }
  for (const { table, index } of liveIndexes) {
    if (!handled.has(index) && !goesWithItsTable(table)) changes.push({ type: 'dropIndex', table, index });
  }
  return changes;
}

/**
 * Trigger changes, as for indexes: a rebuilt table recreates its declared triggers itself (DROP TABLE
 * took the old ones along), a dropped table takes its own. A trigger whose text changed is dropped and
 * created again (SQLite has no ALTER TRIGGER). An undeclared trigger is dropped only in rmm's own
 * namespace (rmm_): others are someone's own (an audit, a test's fault injection), left alone.
 */
function diffTriggers(
  liveTables: readonly TableSchema[],
  declaredTables: readonly TableSchema[],
  rebuilt: ReadonlySet<string>,
  droppedTables: readonly TableSchema[],
): SchemaChange[] {
  const changes: SchemaChange[] = [];
  const live = liveTables.flatMap((t) => (t.triggers ?? []).map((trigger) => ({ table: t.name, trigger })));
  const goesWithItsTable = (table: string) =>
    rebuilt.has(table.toLowerCase()) || droppedTables.some((t) => sameName(t.name, table));
  const handled = new Set<TriggerSchema>();
  for (const table of declaredTables) {
    const isRebuilt = rebuilt.has(table.name.toLowerCase());
    for (const trigger of table.triggers ?? []) {
      const current = live.find((l) => sameName(l.trigger.name, trigger.name));
      if (current) handled.add(current.trigger);
      if (isRebuilt) {
        if (current && !sameName(current.table, table.name))
          changes.push({ type: 'dropTrigger', table: current.table, trigger: current.trigger });
        continue;
      }
      if (current && sameName(current.table, table.name) && sameSql(current.trigger.sql, trigger.sql))
        continue;
      if (current && !goesWithItsTable(current.table))
        changes.push({ type: 'dropTrigger', table: current.table, trigger: current.trigger });
      changes.push({ type: 'createTrigger', table: table.name, trigger });
    }
  }
  for (const { table, trigger } of live) {
    if (!handled.has(trigger) && !goesWithItsTable(table) && isRmmTrigger(trigger.name))
      changes.push({ type: 'dropTrigger', table, trigger });
  }
  return changes;
}

/** Triggers rmm declares are named rmm_...; schemas/database.yaml's rules hold it to that. */
export function isRmmTrigger(name: string): boolean {
  return name.toLowerCase().startsWith('rmm_');
}

function sameSql(a: string, b: string): boolean {
  return collapseWhitespace(a) === collapseWhitespace(b);
}

function sameIndex(a: IndexSchema, b: IndexSchema): boolean {
  return a.unique === b.unique && sameNames(a.columns, b.columns) && (a.where ?? '') === (b.where ?? '');
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => sameName(name, b[i] as string));
}

function describeKey(columns: readonly string[]): string {
  return columns.length === 0 ? '(none)' : `(${columns.join(', ')})`;
}

export function describeForeignKey(fk: ForeignKeySchema): string {
  return `(${fk.columns.join(', ')}) -> ${fk.table}(${fk.references.join(', ')})`;
}
