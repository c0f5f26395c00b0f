import type { MigrationPlan, MigrationStep, StepAction } from '../formats/migration-step.js';
import { isDestructive, type SchemaChange, unknownChange } from './diff.js';
import type { ColumnSchema, ForeignKeySchema, IndexSchema, TableSchema } from './table-schema.js';
import {
  findByName,
  META_TABLE,
  quoteIdentifier as q,
  SCHEMA_HASH_KEY,
  sameName,
  shortHash,
  sqlLiteral,
} from './table-schema.js';

/**
 * Schema changes turned into ordered SQL steps. Nothing runs here: the plan is what `rmm db plan`
 * shows and what `rmm db apply` executes, so the two can never disagree.
 */

/** The prefix of the temporary table a rebuild copies into. */
export const REBUILD_PREFIX = '_rmm_new_';

/**
 * The order of the phases. Created tables come first so later steps can reference them; indexes are
 * dropped before any is created (names are global, one may move to another table) and before the
 * rebuilds (which recreate their own table's indexes and triggers); seeds go in once every table is
 * in shape, and triggers after them (a seed row is rmm's own write, not an edit to mark);
 * dropped tables last, so nothing still to run reads them; the hash last, recording the result.
 */
const PHASES: readonly SchemaChange['type'][] = [
  'createTable',
  'addColumn',
  'dropIndex',
  'dropTrigger',
  'rebuildTable',
  'createIndex',
  'insertSeedRow',
  'createTrigger',
  'dropTable',
  'recordSchemaHash',
];

export function planMigration(changes: readonly SchemaChange[]): MigrationPlan {
  const ordered = PHASES.flatMap((phase) => {
    const inPhase = changes.filter((c) => c.type === phase);
    if (phase === 'createTable') return parentsFirst(inPhase);
    // A child table goes before the parent it references, so no step leaves a dangling reference behind.
    if (phase === 'dropTable') return parentsFirst(inPhase).reverse();
    return inPhase;
  });
  const steps = ordered.map(stepOf);
  return {
    steps,
    destructive: steps.some((s) => s.destructive),
    needsForeignKeysOff: ordered.some((c) => c.type === 'rebuildTable' || c.type === 'dropTable'),
  };
}

/** Stable topological order by foreign keys among the given tables; cycles keep their input order. */
function parentsFirst(changes: readonly SchemaChange[]): SchemaChange[] {
  const tableOf = (c: SchemaChange) => (c as { table: TableSchema }).table;
  const pending = [...changes];
  const done: SchemaChange[] = [];
  while (pending.length > 0) {
    const ready = pending.findIndex((c) =>
      tableOf(c).foreignKeys.every(
        (fk) =>
          sameName(fk.table, tableOf(c).name) ||
          !pending.some((p) => p !== c && sameName(tableOf(p).name, fk.table)),
      ),
    );
    const [next] = pending.splice(ready === -1 ? 0 : ready, 1);
    done.push(next as SchemaChange);
  }
  return done;
}

function stepOf(change: SchemaChange): MigrationStep {
  const destructive = isDestructive(change);
  switch (change.type) {
    case 'createTable':
      return step('create table', change.table.name, `create table ${change.table.name}`, destructive, [
        createTableSql(change.table),
      ]);
    case 'addColumn': {
      const { table, column, foreignKey } = change;
      return step(
        'add column',
        `${table}.${column.name}`,
        `add column ${table}.${column.name} ${column.type}`,
        destructive,
        [
          `ALTER TABLE ${q(table)} ADD COLUMN ${columnSql(column, false, false)}${foreignKey ? ` ${referencesSql(foreignKey)}` : ''}`,
        ],
      );
    }
    case 'dropIndex':
      return step(
        'drop index',
        change.index.name,
        `drop index ${change.index.name} on ${change.table}`,
        destructive,
        [`DROP INDEX ${q(change.index.name)}`],
      );
    case 'rebuildTable':
      return step(
        'rebuild table',
        change.table.name,
        `rebuild table ${change.table.name} (${change.reasons.join('; ')})`,
        destructive,
        rebuildSql(change.live, change.table),
      );
    case 'createIndex':
      return step(
        'create index',
        change.index.name,
        `create ${change.index.unique ? 'unique ' : ''}index ${change.index.name} on ${change.table} (${change.index.columns.join(', ')})${change.index.where ? ` where ${change.index.where}` : ''}`,
        destructive,
        [createIndexSql(change.table, change.index)],
      );
    case 'createTrigger':
      return step(
        'create trigger',
        change.trigger.name,
        `create trigger ${change.trigger.name} on ${change.table}`,
        destructive,
        [change.trigger.sql],
      );
    case 'dropTrigger':
      return step(
        'drop trigger',
        change.trigger.name,
        `drop trigger ${change.trigger.name} on ${change.table}`,
        destructive,
        [`DROP TRIGGER ${q(change.trigger.name)}`],
      );
    case 'insertSeedRow': {
      const { table, values, keyColumns } = change.row;
      const columns = Object.keys(values);
      // A row is named by its table and key values: `Sites/main`.
      const object = [table, ...keyColumns.map((c) => String(values[c]))].join('/');
      return step('insert seed row', object, `insert seed row ${object}`, destructive, [
        // OR IGNORE: a seed row is inserted once and never overwrites what is there (database.schema.json).
        `INSERT OR IGNORE INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES (${columns.map((c) => sqlLiteral(values[c] ?? null)).join(', ')})`,
      ]);
    }
    case 'dropTable':
      return step('drop table', change.table.name, `drop table ${change.table.name}`, destructive, [
        `DROP TABLE ${q(change.table.name)}`,
      ]);
    case 'recordSchemaHash':
      return step(
        'record schema hash',
        META_TABLE,
        `record schema hash ${shortHash(change.to)} in ${META_TABLE}`,
        destructive,
        [
          // Delete then insert rather than an upsert: correct whatever key RmmMeta declares.
          `DELETE FROM ${q(META_TABLE)} WHERE "Key" = ${sqlLiteral(SCHEMA_HASH_KEY)}`,
          `INSERT INTO ${q(META_TABLE)} ("Key", "Value") VALUES (${sqlLiteral(SCHEMA_HASH_KEY)}, ${sqlLiteral(change.to)})`,
        ],
      );
    default:
      return unknownChange(change);
  }
}

function step(
  action: StepAction,
  object: string,
  summary: string,
  destructive: boolean,
  sql: string[],
): MigrationStep {
  return { action, object, summary, destructive, sql };
}

/** CREATE TABLE in the seed's style: key and AUTOINCREMENT on the column, composite keys and foreign keys after. */
export function createTableSql(table: TableSchema, name: string = table.name): string {
  const single = table.primaryKey.length === 1 ? table.primaryKey[0] : undefined;
  const lines = table.columns.map(
    (c) => `    ${columnSql(c, single !== undefined && sameName(c.name, single), table.autoincrement)}`,
  );
  if (table.primaryKey.length > 1) lines.push(`    PRIMARY KEY (${table.primaryKey.map(q).join(', ')})`);
  for (const fk of table.foreignKeys)
    lines.push(`    FOREIGN KEY (${fk.columns.map(q).join(', ')}) ${referencesSql(fk)}`);
  return `CREATE TABLE ${q(name)} (\n${lines.join(',\n')}\n)`;
}

function columnSql(column: ColumnSchema, primaryKey: boolean, autoincrement: boolean): string {
  let sql = `${q(column.name)} ${column.type}`;
  if (primaryKey) sql += autoincrement ? ' PRIMARY KEY AUTOINCREMENT' : ' PRIMARY KEY';
  if (column.notNull) sql += ' NOT NULL';
  if (column.defaultSql !== null) sql += ` DEFAULT ${column.defaultSql}`;
  return sql;
}

function referencesSql(fk: ForeignKeySchema): string {
  let sql = `REFERENCES ${q(fk.table)}(${fk.references.map(q).join(', ')})`;
  if (fk.onDelete !== 'NO ACTION') sql += ` ON DELETE ${fk.onDelete}`;
  if (fk.onUpdate !== 'NO ACTION') sql += ` ON UPDATE ${fk.onUpdate}`;
  return sql;
}

export function createIndexSql(table: string, index: IndexSchema): string {
  const where = index.where ? ` WHERE ${index.where}` : '';
  return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${q(index.name)} ON ${q(table)} (${index.columns.map(q).join(', ')})${where}`;
}

/**
 * The table rebuild of https://www.sqlite.org/lang_altertable.html section 7: create the new table
 * under a temporary name, copy the shared columns, drop the old table, rename the new one, recreate
 * the indexes DROP TABLE took along. Renaming the *new* table (never the old one) keeps other
 * tables' foreign keys pointing at the right name. Foreign keys off and the check before COMMIT are
 * migrate.ts's part.
 */
function rebuildSql(live: TableSchema, declared: TableSchema): string[] {
  const temporary = `${REBUILD_PREFIX}${declared.name}`;
  const shared = declared.columns.flatMap((c) => {
    const current = findByName(live.columns, c.name);
    return current ? [{ to: c.name, from: c.rebuildFrom ?? q(current.name) }] : [];
  });
  const sql = [createTableSql(declared, temporary)];
  if (shared.length > 0) {
    sql.push(
      `INSERT INTO ${q(temporary)} (${shared.map((s) => q(s.to)).join(', ')}) SELECT ${shared.map((s) => s.from).join(', ')} FROM ${q(live.name)}`,
    );
  }
  if (live.autoincrement && declared.autoincrement) {
    // Carry AUTOINCREMENT's high-water mark over, so ids of deleted rows are never handed out again.
    sql.push(
      `DELETE FROM sqlite_sequence WHERE name = ${sqlLiteral(temporary)}`,
      `INSERT INTO sqlite_sequence (name, seq) SELECT ${sqlLiteral(temporary)}, seq FROM sqlite_sequence WHERE name = ${sqlLiteral(live.name)}`,
    );
  }
  sql.push(`DROP TABLE ${q(live.name)}`, `ALTER TABLE ${q(temporary)} RENAME TO ${q(declared.name)}`);
  for (const index of declared.indexes) sql.push(createIndexSql(declared.name, index));
  for (const trigger of declared.triggers ?? []) sql.push(trigger.sql);
  return sql;
}
