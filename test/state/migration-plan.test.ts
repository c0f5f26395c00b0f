import { describe, expect, it } from 'vitest';
import type { SchemaChange } from '../../src/state/diff.js';
import { createTableSql, planMigration } from '../../src/state/migration-plan.js';
import type { ColumnSchema, TableSchema } from '../../src/state/table-schema.js';

const col = (name: string, type = 'TEXT', extra: Partial<ColumnSchema> = {}): ColumnSchema => ({
  name,
  type,
  notNull: false,
  defaultSql: null,
  ...extra,
});

const devices: TableSchema = {
  name: 'Devices',
  columns: [
    col('DeviceId'),
    col('Hostname', 'TEXT', { notNull: true }),
    col('Status', 'TEXT', { defaultSql: "'Unknown'" }),
  ],
  primaryKey: ['DeviceId'],
  autoincrement: false,
  foreignKeys: [],
  indexes: [{ name: 'idx_devices_status', columns: ['Status'], unique: false }],
};
const inventory: TableSchema = {
  name: 'Inventory',
  columns: [
    col('InventoryId', 'INTEGER'),
    col('DeviceId', 'TEXT', { notNull: true }),
    col('CollectedAt', 'DATETIME', { defaultSql: 'CURRENT_TIMESTAMP' }),
  ],
  primaryKey: ['InventoryId'],
  autoincrement: true,
  foreignKeys: [
    {
      columns: ['DeviceId'],
      table: 'Devices',
      references: ['DeviceId'],
      onDelete: 'CASCADE',
      onUpdate: 'NO ACTION',
    },
  ],
  indexes: [{ name: 'idx_inventory_device', columns: ['DeviceId'], unique: false }],
};
const managed: TableSchema = {
  name: 'ManagedResources',
  columns: [
    col('Kind', 'TEXT', { notNull: true }),
    col('Name', 'TEXT', { notNull: true }),
    col('Labels', 'TEXT', { notNull: true, defaultSql: "'{}'" }),
  ],
  primaryKey: ['Kind', 'Name'],
  autoincrement: false,
  foreignKeys: [],
  indexes: [],
};

describe('createTableSql', () => {
  it("writes the seed's style: key and AUTOINCREMENT on the column, foreign keys after, every name quoted", () => {
    expect(createTableSql(inventory)).toBe(
      [
        'CREATE TABLE "Inventory" (',
        '    "InventoryId" INTEGER PRIMARY KEY AUTOINCREMENT,',
        '    "DeviceId" TEXT NOT NULL,',
        '    "CollectedAt" DATETIME DEFAULT CURRENT_TIMESTAMP,',
        '    FOREIGN KEY ("DeviceId") REFERENCES "Devices"("DeviceId") ON DELETE CASCADE',
        ')',
      ].join('\n'),
    );
  });

  it('writes a composite key as a table constraint', () => {
    expect(createTableSql(managed)).toBe(
      [
        'CREATE TABLE "ManagedResources" (',
        '    "Kind" TEXT NOT NULL,',
        '    "Name" TEXT NOT NULL,',
        `    "Labels" TEXT NOT NULL DEFAULT '{}',`,
        '    PRIMARY KEY ("Kind", "Name")',
        ')',
      ].join('\n'),
    );
  });
});

describe('planMigration', () => {
  it('orders phases: create tables (parents first), add columns, drop indexes, rebuilds, create indexes, seeds, drop tables, hash', () => {
    const legacyChild: TableSchema = {
      ...devices,
      name: 'LegacyChild',
      indexes: [],
      foreignKeys: [{ ...(inventory.foreignKeys[0] as TableSchema['foreignKeys'][0]), table: 'Legacy' }],
    };
    const legacy: TableSchema = { ...devices, name: 'Legacy', indexes: [] };
    const changes: SchemaChange[] = [
      { type: 'recordSchemaHash', from: null, to: 'abc' },
      { type: 'dropTable', table: legacy },
      { type: 'dropTable', table: legacyChild },
      { type: 'insertSeedRow', row: { table: 'Sites', values: { SiteId: 'main' }, keyColumns: ['SiteId'] } },
      {
        type: 'createIndex',
        table: 'Devices',
        index: { name: 'idx_new', columns: ['Hostname'], unique: false },
      },
      {
        type: 'rebuildTable',
        table: devices,
        live: devices,
        reasons: ['column Status: type TEXT -> INTEGER'],
        droppedColumns: [],
      },
      {
        type: 'dropIndex',
        table: 'Devices',
        index: { name: 'idx_old', columns: ['Hostname'], unique: false },
      },
      { type: 'addColumn', table: 'Sites', column: col('Notes'), foreignKey: null },
      // Declared child before parent: the plan must still create the parent first.
      { type: 'createTable', table: inventory },
      { type: 'createTable', table: { ...devices, name: 'Devices' } },
    ];
    const plan = planMigration(changes);
    expect(plan.steps.map((s) => `${s.action} ${s.object}`)).toEqual([
      'create table Devices',
      'create table Inventory',
      'add column Sites.Notes',
      'drop index idx_old',
      'rebuild table Devices',
      'create index idx_new',
      'insert seed row Sites/main',
      'drop table LegacyChild',
      'drop table Legacy',
      'record schema hash RmmMeta',
    ]);
    expect(plan.destructive).toBe(true);
    expect(plan.needsForeignKeysOff).toBe(true);
  });

  it('rebuilds as lang_altertable.html section 7 says: new table, copy shared columns, drop, rename, indexes', () => {
    const live: TableSchema = { ...devices, columns: [...devices.columns, col('Obsolete')] };
    const declared: TableSchema = {
      ...devices,
      columns: devices.columns
        .map((c) => (c.name === 'Status' ? { ...c, type: 'INTEGER' } : c))
        .concat(col('Added')),
    };
    const plan = planMigration([
      { type: 'rebuildTable', table: declared, live, reasons: ['x'], droppedColumns: ['Obsolete'] },
    ]);
    const [step] = plan.steps;
    expect(step?.destructive).toBe(true);
    expect(step?.sql).toEqual([
      createTableSql(declared, '_rmm_new_Devices'),
      'INSERT INTO "_rmm_new_Devices" ("DeviceId", "Hostname", "Status") SELECT "DeviceId", "Hostname", "Status" FROM "Devices"',
      'DROP TABLE "Devices"',
      'ALTER TABLE "_rmm_new_Devices" RENAME TO "Devices"',
      'CREATE INDEX "idx_devices_status" ON "Devices" ("Status")',
    ]);
    expect(plan.needsForeignKeysOff).toBe(true);
  });

  it('carries the AUTOINCREMENT counter over when rebuilding an AUTOINCREMENT table', () => {
    const plan = planMigration([
      { type: 'rebuildTable', table: inventory, live: inventory, reasons: ['x'], droppedColumns: [] },
    ]);
    expect(plan.steps[0]?.sql).toContain(
      `INSERT INTO sqlite_sequence (name, seq) SELECT '_rmm_new_Inventory', seq FROM sqlite_sequence WHERE name = 'Inventory'`,
    );
  });

  it('adds a column with its REFERENCES clause, and needs no foreign-keys-off for that', () => {
    const plan = planMigration([
      {
        type: 'addColumn',
        table: 'Devices',
        column: col('SiteId'),
        foreignKey: {
          columns: ['SiteId'],
          table: 'Sites',
          references: ['SiteId'],
          onDelete: 'SET NULL',
          onUpdate: 'NO ACTION',
        },
      },
    ]);
    expect(plan.steps[0]?.sql).toEqual([
      'ALTER TABLE "Devices" ADD COLUMN "SiteId" TEXT REFERENCES "Sites"("SiteId") ON DELETE SET NULL',
    ]);
    expect(plan).toMatchObject({ destructive: false, needsForeignKeysOff: false });
  });

  it('quotes seed values as SQL literals, doubling quotes', () => {
    const plan = planMigration([
      {
        type: 'insertSeedRow',
        row: { table: 'Sites', values: { SiteId: "o'brien", Floor: 3, Note: null }, keyColumns: ['SiteId'] },
      },
    ]);
    expect(plan.steps[0]?.sql).toEqual([
      `INSERT OR IGNORE INTO "Sites" ("SiteId", "Floor", "Note") VALUES ('o''brien', 3, NULL)`,
    ]);
  });

  it('an empty change list is an empty plan', () => {
    expect(planMigration([])).toEqual({ steps: [], destructive: false, needsForeignKeysOff: false });
  });
});
