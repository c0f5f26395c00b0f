import { describe, expect, it } from 'vitest';
import {
  type DeclaredModel,
  diffSchemas,
  isDestructive,
  type SchemaChange,
  unknownChange,
} from '../../src/state/diff.js';
import type { LiveDatabase } from '../../src/state/inspect.js';
import type { ColumnSchema, SeedRow, TableSchema } from '../../src/state/table-schema.js';
import { seedRowKey } from '../../src/state/table-schema.js';

const col = (name: string, type = 'TEXT', extra: Partial<ColumnSchema> = {}): ColumnSchema => ({
  name,
  type,
  notNull: false,
  defaultSql: null,
  ...extra,
});

const table = (name: string, columns: ColumnSchema[], extra: Partial<TableSchema> = {}): TableSchema => ({
  name,
  columns,
  primaryKey: [columns[0]?.name ?? 'Id'],
  autoincrement: false,
  foreignKeys: [],
  indexes: [],
  ...extra,
});

const devices = table(
  'Devices',
  [
    col('DeviceId'),
    col('Hostname', 'TEXT', { notNull: true }),
    col('Status', 'TEXT', { defaultSql: "'Unknown'" }),
  ],
  {
    indexes: [{ name: 'idx_devices_status', columns: ['Status'], unique: false }],
  },
);
const MARK = {
  name: 'rmm_mark',
  sql: "CREATE TRIGGER rmm_mark AFTER INSERT ON Devices BEGIN INSERT INTO Marks VALUES ('Device', NEW.DeviceId); END",
};
const withTrigger = (t: TableSchema, trigger: { name: string; sql: string }): TableSchema => ({
  ...t,
  triggers: [trigger],
});
const inventory = table(
  'Inventory',
  [col('InventoryId', 'INTEGER'), col('DeviceId', 'TEXT', { notNull: true }), col('Data')],
  {
    autoincrement: true,
    foreignKeys: [
      {
        columns: ['DeviceId'],
        table: 'Devices',
        references: ['DeviceId'],
        onDelete: 'NO ACTION',
        onUpdate: 'NO ACTION',
      },
    ],
  },
);

const HASH = 'h1';
const live = (tables: TableSchema[], extra: Partial<LiveDatabase> = {}): LiveDatabase => ({
  tables,
  schemaHash: HASH,
  presentSeedRows: [],
  ...extra,
});
const declared = (tables: TableSchema[], extra: Partial<DeclaredModel> = {}): DeclaredModel => ({
  tables,
  seeds: [],
  hash: HASH,
  ...extra,
});

/** A copy of a table with its columns transformed. */
function withColumns(
  t: TableSchema,
  f: (columns: ColumnSchema[]) => ColumnSchema[],
  extra: Partial<TableSchema> = {},
): TableSchema {
  return { ...t, columns: f(t.columns.map((c) => ({ ...c }))), ...extra };
}

const site: SeedRow = {
  table: 'Sites',
  values: { SiteId: 'main', Name: 'Main Site' },
  keyColumns: ['SiteId'],
};
const sites = table('Sites', [col('SiteId'), col('Name', 'TEXT', { notNull: true })]);

interface Row {
  name: string;
  live: LiveDatabase;
  declared: DeclaredModel;
  /** The changes, reduced to what matters for the row: type, object and (for rebuilds) the reasons. */
  expected: string[];
}

/** One line per change, so a table row reads like a plan. */
function describeChange(change: SchemaChange): string {
  switch (change.type) {
    case 'createTable':
    case 'dropTable':
      return `${change.type} ${change.table.name}`;
    case 'addColumn':
      return `addColumn ${change.table}.${change.column.name}${change.foreignKey ? ` -> ${change.foreignKey.table}` : ''}`;
    case 'rebuildTable':
      return `rebuildTable ${change.table.name}: ${change.reasons.join('; ')}${change.droppedColumns.length ? ` [drops ${change.droppedColumns.join(', ')}]` : ''}`;
    case 'createIndex':
    case 'dropIndex':
      return `${change.type} ${change.index.name} on ${change.table}`;
    case 'createTrigger':
    case 'dropTrigger':
      return `${change.type} ${change.trigger.name} on ${change.table}`;
    case 'insertSeedRow':
      return `insertSeedRow ${change.row.table}`;
    case 'recordSchemaHash':
      return `recordSchemaHash ${change.from} -> ${change.to}`;
    default:
      return unknownChange(change);
  }
}

const rows: Row[] = [
  {
    name: 'identical schemas',
    live: live([devices, inventory]),
    declared: declared([devices, inventory]),
    expected: [],
  },
  {
    name: 'type names compare without regard to case',
    live: live([withColumns(devices, (c) => c.map((x) => ({ ...x, type: x.type.toLowerCase() })))]),
    declared: declared([devices]),
    expected: [],
  },
  {
    name: 'DEFAULT NULL is no default',
    live: live([
      withColumns(devices, (c) => [
        ...c.slice(0, 2),
        { ...(c[2] as ColumnSchema), defaultSql: "'Unknown'" },
        col('X', 'TEXT', { defaultSql: 'NULL' }),
      ]),
    ]),
    declared: declared([withColumns(devices, (c) => [...c, col('X')])]),
    expected: [],
  },
  {
    name: 'a declared table that does not exist is created, with its indexes',
    live: live([]),
    declared: declared([devices]),
    expected: ['createTable Devices', 'createIndex idx_devices_status on Devices'],
  },
  {
    name: 'an undeclared table is dropped',
    live: live([devices, table('Legacy', [col('Id')])]),
    declared: declared([devices]),
    expected: ['dropTable Legacy'],
  },
  {
    name: 'a nullable column is added with ALTER TABLE',
    live: live([devices]),
    declared: declared([withColumns(devices, (c) => [...c, col('Notes')])]),
    expected: ['addColumn Devices.Notes'],
  },
  {
    name: 'NOT NULL with a constant default can be added',
    live: live([devices]),
    declared: declared([
      withColumns(devices, (c) => [...c, col('Kind', 'TEXT', { notNull: true, defaultSql: "'pc'" })]),
    ]),
    expected: ['addColumn Devices.Kind'],
  },
  {
    name: 'NOT NULL without a default needs a rebuild',
    live: live([devices]),
    declared: declared([withColumns(devices, (c) => [...c, col('Kind', 'TEXT', { notNull: true })])]),
    expected: ['rebuildTable Devices: column Kind added (NOT NULL without a default)'],
  },
  {
    name: 'a CURRENT_TIMESTAMP default needs a rebuild',
    live: live([devices]),
    declared: declared([
      withColumns(devices, (c) => [...c, col('SeenAt', 'DATETIME', { defaultSql: 'CURRENT_TIMESTAMP' })]),
    ]),
    expected: ['rebuildTable Devices: column SeenAt added (default CURRENT_TIMESTAMP is not a constant)'],
  },
  {
    name: 'a new primary key column needs a rebuild',
    live: live([sites]),
    declared: declared([
      withColumns(sites, (c) => [...c, col('Region')], { primaryKey: ['SiteId', 'Region'] }),
    ]),
    expected: [
      'rebuildTable Sites: primary key (SiteId) -> (SiteId, Region); column Region added (part of the primary key)',
    ],
  },
  {
    name: 'a new foreign key column with a NULL default rides along with ADD COLUMN',
    live: live([devices, sites]),
    declared: declared([
      withColumns(devices, (c) => [...c, col('SiteId')], {
        foreignKeys: [
          {
            columns: ['SiteId'],
            table: 'Sites',
            references: ['SiteId'],
            onDelete: 'NO ACTION',
            onUpdate: 'NO ACTION',
          },
        ],
      }),
      sites,
    ]),
    expected: ['addColumn Devices.SiteId -> Sites'],
  },
  {
    name: 'a new foreign key column with a non-null default needs a rebuild',
    live: live([devices, sites]),
    declared: declared([
      withColumns(devices, (c) => [...c, col('SiteId', 'TEXT', { defaultSql: "'main'" })], {
        foreignKeys: [
          {
            columns: ['SiteId'],
            table: 'Sites',
            references: ['SiteId'],
            onDelete: 'NO ACTION',
            onUpdate: 'NO ACTION',
          },
        ],
      }),
      sites,
    ]),
    expected: [
      'rebuildTable Devices: column SiteId added (a foreign key column with a non-null default); foreign key (SiteId) -> Sites(SiteId) added',
    ],
  },
  {
    name: 'a type change and NOT NULL rebuild the table, with their reasons',
    live: live([devices]),
    declared: declared([
      withColumns(devices, (c) =>
        c.map((x) => (x.name === 'Status' ? { ...x, type: 'INTEGER', notNull: true } : x)),
      ),
    ]),
    expected: ['rebuildTable Devices: column Status: type TEXT -> INTEGER, NOT NULL added'],
  },
  {
    name: 'a changed default rebuilds',
    live: live([devices]),
    declared: declared([
      withColumns(devices, (c) => c.map((x) => (x.name === 'Status' ? { ...x, defaultSql: "'New'" } : x))),
    ]),
    expected: ["rebuildTable Devices: column Status: default 'Unknown' -> 'New'"],
  },
  {
    name: 'a dropped column rebuilds and is destructive',
    live: live([devices]),
    declared: declared([withColumns(devices, (c) => c.filter((x) => x.name !== 'Hostname'))]),
    expected: ['rebuildTable Devices: column Hostname dropped [drops Hostname]'],
  },
  {
    name: 'AUTOINCREMENT removed rebuilds',
    live: live([devices, inventory]),
    declared: declared([devices, { ...inventory, autoincrement: false }]),
    expected: ['rebuildTable Inventory: AUTOINCREMENT removed'],
  },
  {
    name: 'a changed ON DELETE rebuilds the child',
    live: live([devices, inventory]),
    declared: declared([
      devices,
      {
        ...inventory,
        foreignKeys: [
          { ...(inventory.foreignKeys[0] as TableSchema['foreignKeys'][0]), onDelete: 'CASCADE' },
        ],
      },
    ]),
    expected: [
      'rebuildTable Inventory: foreign key (DeviceId) -> Devices(DeviceId): ON DELETE NO ACTION -> CASCADE',
    ],
  },
  {
    name: 'a removed foreign key rebuilds the child',
    live: live([devices, inventory]),
    declared: declared([devices, { ...inventory, foreignKeys: [] }]),
    expected: ['rebuildTable Inventory: foreign key (DeviceId) -> Devices(DeviceId) removed'],
  },
  {
    name: 'a rebuilt table recreates its own indexes: no separate index changes',
    live: live([devices]),
    declared: declared([
      withColumns(devices, (c) => c.map((x) => (x.name === 'Status' ? { ...x, type: 'INTEGER' } : x)), {
        indexes: [{ name: 'idx_devices_status', columns: ['Status', 'Hostname'], unique: false }],
      }),
    ]),
    expected: ['rebuildTable Devices: column Status: type TEXT -> INTEGER'],
  },
  {
    name: 'an added index is created',
    live: live([devices]),
    declared: declared([
      {
        ...devices,
        indexes: [...devices.indexes, { name: 'idx_devices_host', columns: ['Hostname'], unique: true }],
      },
    ]),
    expected: ['createIndex idx_devices_host on Devices'],
  },
  {
    name: 'a changed index is dropped and created again',
    live: live([devices]),
    declared: declared([
      { ...devices, indexes: [{ name: 'idx_devices_status', columns: ['Status'], unique: true }] },
    ]),
    expected: ['dropIndex idx_devices_status on Devices', 'createIndex idx_devices_status on Devices'],
  },
  {
    name: 'an undeclared index is dropped',
    live: live([devices]),
    declared: declared([{ ...devices, indexes: [] }]),
    expected: ['dropIndex idx_devices_status on Devices'],
  },
  {
    name: 'the indexes of a dropped table go with it',
    live: live([
      devices,
      { ...table('Legacy', [col('Id')]), indexes: [{ name: 'idx_legacy', columns: ['Id'], unique: false }] },
    ]),
    declared: declared([devices]),
    expected: ['dropTable Legacy'],
  },
  {
    name: 'a missing seed row is inserted',
    live: live([sites]),
    declared: declared([sites], { seeds: [site] }),
    expected: ['insertSeedRow Sites'],
  },
  {
    name: 'a present seed row is left alone',
    live: live([sites], { presentSeedRows: [seedRowKey(site)] }),
    declared: declared([sites], { seeds: [site] }),
    expected: [],
  },
  {
    name: 'a different recorded hash is recorded again',
    live: live([devices], { schemaHash: 'old' }),
    declared: declared([devices], { hash: 'new' }),
    expected: ['recordSchemaHash old -> new'],
  },
  {
    name: 'no recorded hash at all',
    live: live([devices], { schemaHash: null }),
    declared: declared([devices]),
    expected: [`recordSchemaHash null -> ${HASH}`],
  },
  {
    name: 'a declared trigger that does not exist is created',
    live: live([devices]),
    declared: declared([withTrigger(devices, MARK)]),
    expected: ['createTrigger rmm_mark on Devices'],
  },
  {
    name: 'a trigger that differs only in whitespace is left alone',
    live: live([withTrigger(devices, { ...MARK, sql: MARK.sql.replaceAll(' ', '  ') })]),
    declared: declared([withTrigger(devices, MARK)]),
    expected: [],
  },
  {
    name: 'a trigger whose text changed is dropped and created again',
    live: live([withTrigger(devices, MARK)]),
    declared: declared([withTrigger(devices, { ...MARK, sql: MARK.sql.replace('NEW', 'OLD') })]),
    expected: ['dropTrigger rmm_mark on Devices', 'createTrigger rmm_mark on Devices'],
  },
  {
    name: 'an undeclared trigger is dropped',
    live: live([withTrigger(devices, MARK)]),
    declared: declared([devices]),
    expected: ['dropTrigger rmm_mark on Devices'],
  },
  {
    name: "a trigger outside rmm's namespace (rmm_) is someone's own: left alone",
    live: live([withTrigger(devices, { ...MARK, name: 'audit_devices' })]),
    declared: declared([devices]),
    expected: [],
  },
  {
    name: "a rebuilt table's triggers come back with the rebuild, not as steps of their own",
    live: live([devices]),
    declared: declared([
      withTrigger(
        withColumns(devices, (c) => [...c, col('Kind', 'TEXT', { notNull: true })]),
        MARK,
      ),
    ]),
    expected: ['rebuildTable Devices: column Kind added (NOT NULL without a default)'],
  },
];

describe('diffSchemas', () => {
  it.each(rows)('$name', ({ live: l, declared: d, expected }) => {
    expect(diffSchemas(l, d).map(describeChange)).toEqual(expected);
  });

  it('marks dropped tables and rebuilds that drop columns destructive, nothing else', () => {
    const changes = diffSchemas(
      live([devices, table('Legacy', [col('Id')])], { schemaHash: null }),
      declared([withColumns(devices, (c) => c.filter((x) => x.name !== 'Hostname')), inventory]),
    );
    expect(changes.map((c) => [c.type, isDestructive(c)])).toEqual([
      ['rebuildTable', true],
      ['createTable', false],
      ['dropTable', true],
      ['recordSchemaHash', false],
    ]);
  });

  it('a rebuild that only changes a type keeps all data: not destructive', () => {
    const [change] = diffSchemas(
      live([devices]),
      declared([
        withColumns(devices, (c) => c.map((x) => (x.name === 'Status' ? { ...x, type: 'INTEGER' } : x))),
      ]),
    );
    expect(change && isDestructive(change)).toBe(false);
  });

  it('fails loudly on a change type it does not know', () => {
    const bogus = { type: 'renameTable' } as unknown as SchemaChange;
    expect(() => isDestructive(bogus)).toThrow(/unhandled schema change.*renameTable/);
  });
});
