import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/state/connection.js';
import { loadDeclaredSchema } from '../../src/state/declared-schema.js';
import { diffSchemas } from '../../src/state/diff.js';
import { inspectDatabase } from '../../src/state/inspect.js';
import { applyMigration } from '../../src/state/migrate.js';
import { planMigration } from '../../src/state/migration-plan.js';
import { seedRowKey, type TableSchema } from '../../src/state/table-schema.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rmm-inspect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const newDb = () => openDatabase(path.join(dir, `db-${++counter}.db`));

const byName = <T extends { name: string }>(items: readonly T[]) =>
  [...items].sort((a, b) => (a.name < b.name ? -1 : 1));
// rebuildFrom says how a rebuild fills a column: declared only, a live table has no such thing.
const comparable = (tables: readonly TableSchema[]) =>
  byName(tables).map((t) => ({
    ...t,
    columns: t.columns.map(({ rebuildFrom: _, ...column }) => column),
    indexes: byName(t.indexes),
    ...(t.triggers ? { triggers: byName(t.triggers) } : {}),
  }));

describe('inspectDatabase', () => {
  it('reads back exactly the model the declared schema was created from', () => {
    const declared = loadDeclaredSchema();
    const db = newDb();
    try {
      applyMigration(db, planMigration(diffSchemas(inspectDatabase(db), declared)), {
        allowDestructive: false,
      });
      const live = inspectDatabase(db, declared.seeds);
      expect(comparable(live.tables)).toEqual(comparable(declared.tables));
      expect(live.schemaHash).toBe(declared.hash);
      expect(live.presentSeedRows).toEqual(declared.seeds.map(seedRowKey));
    } finally {
      db.close();
    }
  });

  it('reads hand-written SQL: types as SQLite reports them, implicit parent keys, autoindexes left out, AUTOINCREMENT, FK order', () => {
    const db = newDb();
    try {
      db.exec(`
        CREATE TABLE devices (deviceid text primary key, serial text unique, status text default 'Unknown' not null);
        CREATE TABLE sites (siteid text primary key);
        CREATE TABLE inventory (
          id integer primary key autoincrement,
          deviceid text references devices on delete cascade,
          siteid text,
          foreign key (siteid) references sites(siteid) on update set null
        );
        CREATE UNIQUE INDEX idx_inv ON inventory (deviceid, siteid);
      `);
      const live = inspectDatabase(db);
      expect(live.schemaHash).toBeNull();
      expect(live.tables.map((t) => t.name)).toEqual(['devices', 'sites', 'inventory']);
      const devices = live.tables[0];
      expect(devices?.indexes).toEqual([]);
      expect(devices?.columns[2]).toEqual({
        name: 'status',
        type: 'TEXT',
        notNull: true,
        defaultSql: "'Unknown'",
      });
      expect(live.tables[2]).toEqual({
        name: 'inventory',
        columns: [
          { name: 'id', type: 'INTEGER', notNull: false, defaultSql: null },
          { name: 'deviceid', type: 'TEXT', notNull: false, defaultSql: null },
          { name: 'siteid', type: 'TEXT', notNull: false, defaultSql: null },
        ],
        primaryKey: ['id'],
        autoincrement: true,
        foreignKeys: [
          {
            columns: ['deviceid'],
            table: 'devices',
            references: ['deviceid'],
            onDelete: 'CASCADE',
            onUpdate: 'NO ACTION',
          },
          {
            columns: ['siteid'],
            table: 'sites',
            references: ['siteid'],
            onDelete: 'NO ACTION',
            onUpdate: 'SET NULL',
          },
        ],
        indexes: [{ name: 'idx_inv', columns: ['deviceid', 'siteid'], unique: true }],
      });
    } finally {
      db.close();
    }
  });

  it('finds seed rows by key and reads the recorded hash', () => {
    const db = newDb();
    try {
      db.exec(`CREATE TABLE "Sites" ("SiteId" TEXT PRIMARY KEY, "Name" TEXT);
               CREATE TABLE "RmmMeta" ("Key" TEXT PRIMARY KEY, "Value" TEXT NOT NULL);
               INSERT INTO "Sites" VALUES ('main', 'Renamed by an admin');
               INSERT INTO "RmmMeta" VALUES ('schema_hash', 'abc');`);
      const present = {
        table: 'Sites',
        values: { SiteId: 'main', Name: 'Main Site' },
        keyColumns: ['SiteId'],
      };
      const absent = { table: 'Sites', values: { SiteId: 'branch' }, keyColumns: ['SiteId'] };
      const missingTable = { table: 'Nowhere', values: { Id: 1 }, keyColumns: ['Id'] };
      const live = inspectDatabase(db, [present, absent, missingTable]);
      expect(live.presentSeedRows).toEqual([seedRowKey(present)]);
      expect(live.schemaHash).toBe('abc');
    } finally {
      db.close();
    }
  });
});
