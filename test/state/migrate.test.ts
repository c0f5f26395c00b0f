import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Document, parseDocument } from 'yaml';
import { isRmmError, type RmmError } from '../../src/errors.js';
import type { MigrationPlan } from '../../src/formats/migration-step.js';
import { databaseSchemaFile } from '../../src/paths.js';
import { type Db, openDatabase } from '../../src/state/connection.js';
import { type DeclaredSchema, loadDeclaredSchema } from '../../src/state/declared-schema.js';
import { diffSchemas } from '../../src/state/diff.js';
import { inspectDatabase } from '../../src/state/inspect.js';
import { applyMigration } from '../../src/state/migrate.js';
import { planMigration } from '../../src/state/migration-plan.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rmm-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

/** The packaged schema with an edit applied, loaded as rmm would load it. */
function variant(edit: (doc: Document) => void = () => {}): DeclaredSchema {
  const doc = parseDocument(readFileSync(databaseSchemaFile, 'utf8'));
  edit(doc);
  const file = path.join(dir, `database-${++counter}.yaml`);
  writeFileSync(file, String(doc));
  return loadDeclaredSchema(file);
}

const cascade = (doc: Document) =>
  doc.setIn(['tables', 'Inventory', 'foreignKeys', 0, 'onDelete'], 'CASCADE');
const devicesTypeChange = (doc: Document) =>
  doc.setIn(['tables', 'Devices', 'columns', 'AgentVersion', 'type'], 'VARCHAR(32)');
const cascadeAndRebuildDevices = (doc: Document) => {
  cascade(doc);
  devicesTypeChange(doc);
};

function planFor(db: Db, declared: DeclaredSchema): MigrationPlan {
  return planMigration(diffSchemas(inspectDatabase(db, declared.seeds), declared));
}

/** A database at `declared`, with 50 devices and 4 inventory rows each. */
function populated(declared: DeclaredSchema): Db {
  const db = openDatabase(path.join(dir, `db-${++counter}.db`));
  applyMigration(db, planFor(db, declared), { allowDestructive: false });
  const device = db.prepare(
    'INSERT INTO Devices (DeviceId, Hostname, FQDN, AgentVersion) VALUES (?, ?, ?, ?)',
  );
  const inventory = db.prepare('INSERT INTO Inventory (DeviceId, Category, Data) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let d = 0; d < 50; d++) {
      device.run(`dev-${d}`, `host-${d}`, d % 10 === 0 ? null : `host-${d}.example.com`, '1.0');
      for (let i = 0; i < 4; i++) inventory.run(`dev-${d}`, 'software', `{"n":${i}}`);
    }
  })();
  return db;
}

const count = (db: Db, table: string) =>
  (db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n;
const schemaSql = (db: Db) => db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
const foreignKeysOn = (db: Db) => db.pragma('foreign_keys', { simple: true });

function applyError(db: Db, plan: MigrationPlan, allowDestructive = false): RmmError {
  try {
    applyMigration(db, plan, { allowDestructive });
  } catch (error) {
    if (isRmmError(error)) return error;
    throw error;
  }
  throw new Error('expected the migration to fail');
}

describe('applyMigration: the foreign-key trap', () => {
  it('control: turning foreign keys off inside the transaction is a no-op, and the rebuild cascades child rows away', () => {
    const base = variant(cascade);
    const db = populated(base);
    try {
      const plan = planFor(db, variant(cascadeAndRebuildDevices));
      expect(plan.steps.map((s) => s.action)).toEqual(['rebuild table', 'record schema hash']);
      // The naive order: BEGIN first, then the pragma, which SQLite silently ignores.
      db.exec('BEGIN IMMEDIATE');
      db.pragma('foreign_keys = OFF');
      expect(foreignKeysOn(db)).toBe(1);
      for (const sql of plan.steps.flatMap((s) => s.sql)) db.exec(sql);
      db.exec('COMMIT');
      expect(count(db, 'Devices')).toBe(50);
      expect(count(db, 'Inventory')).toBe(0);
    } finally {
      db.close();
    }
  });

  it('applyMigration turns foreign keys off before BEGIN: a Devices rebuild keeps every CASCADE child row', () => {
    const db = populated(variant(cascade));
    try {
      const before = db.prepare('SELECT * FROM Inventory ORDER BY InventoryId').all();
      const target = variant(cascadeAndRebuildDevices);
      expect(applyMigration(db, planFor(db, target), { allowDestructive: false })).toEqual({ applied: 2 });
      expect(db.prepare('SELECT * FROM Inventory ORDER BY InventoryId').all()).toEqual(before);
      expect(db.pragma('foreign_key_check')).toEqual([]);
      expect(foreignKeysOn(db)).toBe(1);
      expect(planFor(db, target).steps).toEqual([]);
      // And the cascade still works afterwards: the rebuilt parent is the one the children reference.
      db.prepare('DELETE FROM Devices WHERE DeviceId = ?').run('dev-1');
      expect(count(db, 'Inventory')).toBe(196);
    } finally {
      db.close();
    }
  });
});

describe('applyMigration: failures leave nothing behind', () => {
  it('refuses a destructive plan before touching anything', () => {
    const db = populated(variant());
    try {
      const schemaBefore = schemaSql(db);
      const plan = planFor(
        db,
        variant((doc) => doc.deleteIn(['tables', 'Devices', 'columns', 'CustomFields'])),
      );
      const changesBefore = db.prepare('SELECT total_changes() AS n').get();
      const error = applyError(db, plan);
      expect(error.code).toBe('destructive-refused');
      expect(error.exitCode).toBe(3);
      expect(error.details).toEqual([
        'rebuild table Devices (column CustomFields dropped)',
        'to apply them anyway: rmm db apply --allow-destructive',
      ]);
      expect(db.prepare('SELECT total_changes() AS n').get()).toEqual(changesBefore);
      expect(schemaSql(db)).toEqual(schemaBefore);
      expect(applyMigration(db, plan, { allowDestructive: true }).applied).toBe(2);
      expect(
        inspectDatabase(db)
          .tables.find((t) => t.name === 'Devices')
          ?.columns.map((c) => c.name),
      ).not.toContain('CustomFields');
    } finally {
      db.close();
    }
  });

  it('NOT NULL added to a column holding NULLs: a clear error, rolled back, foreign keys back on', () => {
    const db = populated(variant());
    try {
      const schemaBefore = schemaSql(db);
      const error = applyError(
        db,
        planFor(
          db,
          variant((doc) => doc.setIn(['tables', 'Devices', 'columns', 'FQDN', 'notNull'], true)),
        ),
      );
      expect(error.code).toBe('migration-failed');
      expect(error.message).toBe(
        'migration failed at step "rebuild table Devices (column FQDN: NOT NULL added)": NOT NULL constraint failed: Devices.FQDN',
      );
      expect(schemaSql(db)).toEqual(schemaBefore);
      expect(count(db, 'Devices')).toBe(50);
      expect(db.inTransaction).toBe(false);
      expect(foreignKeysOn(db)).toBe(1);
    } finally {
      db.close();
    }
  });

  it('a rebuild that would leave dangling foreign keys is rolled back, naming them', () => {
    const db = populated(variant());
    try {
      // Orphans slipped in while foreign keys were off (as the seed's scripts could do).
      db.pragma('foreign_keys = OFF');
      db.prepare("INSERT INTO Inventory (DeviceId, Category, Data) VALUES ('ghost', 'x', 'y')").run();
      db.pragma('foreign_keys = ON');
      const schemaBefore = schemaSql(db);
      const error = applyError(db, planFor(db, variant(devicesTypeChange)));
      expect(error.code).toBe('migration-failed');
      expect(error.message).toMatch(/foreign keys pointing at missing rows; rolled back/);
      expect(error.details).toEqual(['Inventory: 1 row(s) reference missing Devices rows (rowid 201)']);
      expect(schemaSql(db)).toEqual(schemaBefore);
      expect(foreignKeysOn(db)).toBe(1);
    } finally {
      db.close();
    }
  });
});

describe('applyMigration: rebuild details', () => {
  it('keeps the AUTOINCREMENT high-water mark: ids of deleted rows are not handed out again', () => {
    const db = populated(variant());
    try {
      db.exec('DELETE FROM Inventory WHERE InventoryId > 190');
      applyMigration(
        db,
        planFor(
          db,
          variant((doc) => doc.setIn(['tables', 'Inventory', 'columns', 'Category', 'type'], 'VARCHAR(40)')),
        ),
        {
          allowDestructive: false,
        },
      );
      const { lastInsertRowid } = db
        .prepare("INSERT INTO Inventory (DeviceId, Category, Data) VALUES ('dev-0', 'x', 'y')")
        .run();
      expect(lastInsertRowid).toBe(201);
    } finally {
      db.close();
    }
  });

  it('an empty plan does nothing and opens no transaction', () => {
    const declared = variant();
    const db = populated(declared);
    try {
      expect(applyMigration(db, planFor(db, declared), { allowDestructive: false })).toEqual({ applied: 0 });
    } finally {
      db.close();
    }
  });
});
