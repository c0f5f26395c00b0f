import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Document, parseDocument } from 'yaml';
import { databaseSchemaFile } from '../../src/paths.js';
import { runCli } from '../helpers/cli.js';

let cwd: string;
let dbFile: string;
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), 'rmm-db-'));
  dbFile = path.join(cwd, 'data', 'devices.db');
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

/** Writes the packaged schemas/database.yaml with an edit applied; returns the file name (relative to cwd). */
function schemaVariant(name: string, edit: (doc: Document) => void): string {
  const doc = parseDocument(readFileSync(databaseSchemaFile, 'utf8'));
  edit(doc);
  writeFileSync(path.join(cwd, name), String(doc));
  return name;
}

const cli = (...args: string[]) => runCli(args, { cwd });

/** `rmm init`, then thousands of rows across the tables, children referencing Devices. */
async function populatedDatabase(schemaFile?: string): Promise<void> {
  const init = await cli('init', ...(schemaFile ? ['--schema-file', schemaFile] : []));
  expect(init.exitCode, init.stderr).toBe(0);
  const db = new Database(dbFile);
  db.pragma('foreign_keys = ON');
  const site = db.prepare('INSERT INTO Sites (SiteId, Name, Timezone) VALUES (?, ?, ?)');
  const device = db.prepare(
    'INSERT INTO Devices (DeviceId, Hostname, FQDN, SiteId, Status, AgentVersion, Tags, CustomFields) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const inventory = db.prepare('INSERT INTO Inventory (DeviceId, Category, Data) VALUES (?, ?, ?)');
  const alert = db.prepare(
    'INSERT INTO Alerts (AlertId, DeviceId, AlertType, Severity, Title, Source) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const metric = db.prepare(
    'INSERT INTO Metrics (DeviceId, MetricType, Value, Unit, Timestamp) VALUES (?, ?, ?, ?, ?)',
  );
  const audit = db.prepare('INSERT INTO AuditLog (User, Action, Target) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let s = 0; s < 10; s++) site.run(`site-${s}`, `Site ${s}`, 'UTC');
    for (let d = 0; d < 1500; d++) {
      const id = `dev-${String(d).padStart(5, '0')}`;
      // Every 7th device has no FQDN: the NOT NULL test needs NULLs to trip on.
      device.run(
        id,
        `host-${d}`,
        d % 7 === 0 ? null : `host-${d}.corp.example`,
        `site-${d % 10}`,
        d % 3 ? 'Online' : 'Offline',
        `2.${d % 5}`,
        `["t${d % 4}"]`,
        '{}',
      );
      inventory.run(id, 'hardware', JSON.stringify({ cpu: d % 16, ram: 1024 * (d % 8) }));
      inventory.run(id, 'software', JSON.stringify({ apps: d % 40 }));
      if (d % 3 !== 0)
        alert.run(`alert-${d}`, id, 'disk', ['low', 'medium', 'high'][d % 3], `Disk ${d}`, 'agent');
      for (let m = 0; m < 2; m++) metric.run(id, m ? 'cpu' : 'ram', d * 1.5 + m, '%', 1_700_000_000_000 + d);
    }
    for (let a = 0; a < 200; a++) audit.run('admin', 'apply', `dev-${a}`);
  })();
  db.close();
}

const tablesWithData = ['Sites', 'Devices', 'Inventory', 'Alerts', 'Metrics', 'AuditLog'];

/** Every row of the populated tables, in key order, limited to the columns they have now. */
function snapshot(tables = tablesWithData): Record<string, unknown[]> {
  const db = new Database(dbFile, { readonly: true });
  try {
    return Object.fromEntries(
      tables.map((table) => {
        const info = db.prepare('SELECT name, pk FROM pragma_table_info(?)').all(table) as {
          name: string;
          pk: number;
        }[];
        const key = info.filter((c) => c.pk > 0).map((c) => `"${c.name}"`);
        const columns = info.map((c) => `"${c.name}"`).join(', ');
        // Rows that were there: the AuditLog rows a migration adds about itself are checked apart.
        const where = table === 'AuditLog' ? ` WHERE Action NOT LIKE 'db.migrate %'` : '';
        return [
          table,
          db.prepare(`SELECT ${columns} FROM "${table}"${where} ORDER BY ${key.join(', ')}`).all(),
        ];
      }),
    );
  } finally {
    db.close();
  }
}

function migrationAudits(): number {
  const row = inspectOne((db) =>
    db.prepare("SELECT count(*) AS n FROM AuditLog WHERE Action LIKE 'db.migrate %'").get(),
  ) as { n: number };
  return row.n;
}

/** Only the columns the "before" snapshot had (added columns are new, not changed data). */
function restrictTo(
  before: Record<string, unknown[]>,
  after: Record<string, unknown[]>,
): Record<string, unknown[]> {
  return Object.fromEntries(
    Object.entries(after).map(([table, rows]) => {
      const columns = Object.keys((before[table]?.[0] as object | undefined) ?? {});
      return [
        table,
        rows.map((row) => Object.fromEntries(columns.map((c) => [c, (row as Record<string, unknown>)[c]]))),
      ];
    }),
  );
}

function integrity() {
  const db = new Database(dbFile, { readonly: true });
  try {
    return {
      foreignKeyCheck: db.pragma('foreign_key_check'),
      integrityCheck: db.pragma('integrity_check', { simple: true }),
    };
  } finally {
    db.close();
  }
}

function inspectOne<T>(query: (db: Database.Database) => T): T {
  const db = new Database(dbFile, { readonly: true });
  try {
    return query(db);
  } finally {
    db.close();
  }
}

/** sha256 of the database file and its WAL (if any): byte-identical means nothing was written. */
function fingerprint(): string {
  const hash = createHash('sha256').update(readFileSync(dbFile));
  if (existsSync(`${dbFile}-wal`)) hash.update(readFileSync(`${dbFile}-wal`));
  return hash.digest('hex');
}

interface SafeChange {
  name: string;
  edit: (doc: Document) => void;
  /** The plan line that must appear. */
  planLine: string;
  steps: number;
  /** What must be true of the database afterwards. */
  check: (db: Database.Database) => void;
}

const safeChanges: SafeChange[] = [
  {
    name: '(a) adds a column',
    edit: (doc) => doc.setIn(['tables', 'Devices', 'columns', 'Notes'], { type: 'TEXT', default: 'n/a' }),
    planLine: '  + add column Devices.Notes TEXT',
    steps: 2,
    check: (db) => {
      expect(db.prepare("SELECT count(*) AS n FROM Devices WHERE Notes = 'n/a'").get()).toEqual({ n: 1500 });
    },
  },
  {
    name: '(b) adds an index',
    edit: (doc) =>
      doc.setIn(['tables', 'Alerts', 'indexes', 'idx_alerts_type'], { columns: ['AlertType', 'Severity'] }),
    planLine: '  + create index idx_alerts_type on Alerts (AlertType, Severity)',
    steps: 2,
    check: (db) => {
      expect(
        db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').all('idx_alerts_type'),
      ).toEqual([{ name: 'AlertType' }, { name: 'Severity' }]);
    },
  },
  {
    name: "(c) changes a column's type and NOT NULL",
    edit: (doc) =>
      doc.setIn(['tables', 'Alerts', 'columns', 'Source'], { type: 'VARCHAR(64)', notNull: true }),
    planLine: '  ~ rebuild table Alerts (column Source: type TEXT -> VARCHAR(64), NOT NULL added)',
    steps: 2,
    check: (db) => {
      expect(
        db.prepare("SELECT type, \"notnull\" FROM pragma_table_info('Alerts') WHERE name = 'Source'").get(),
      ).toEqual({
        type: 'VARCHAR(64)',
        notnull: 1,
      });
      // The rebuild recreated Alerts' indexes.
      expect(
        db.prepare("SELECT name FROM pragma_index_list('Alerts') WHERE origin = 'c' ORDER BY name").all(),
      ).toEqual([
        { name: 'idx_alerts_created' },
        { name: 'idx_alerts_device' },
        { name: 'idx_alerts_open' },
        { name: 'idx_alerts_severity' },
      ]);
    },
  },
  {
    name: '(d) rebuilds the parent table Devices while Inventory, Alerts and Metrics reference it',
    edit: (doc) => doc.setIn(['tables', 'Devices', 'columns', 'AgentVersion', 'type'], 'VARCHAR(32)'),
    planLine: '  ~ rebuild table Devices (column AgentVersion: type TEXT -> VARCHAR(32))',
    steps: 2,
    check: (db) => {
      expect(
        db.prepare("SELECT type FROM pragma_table_info('Devices') WHERE name = 'AgentVersion'").get(),
      ).toEqual({ type: 'VARCHAR(32)' });
      // The children still reference the rebuilt Devices, by name, and the constraint is enforced.
      expect(() =>
        db.prepare("INSERT INTO Inventory (DeviceId, Category, Data) VALUES ('ghost', 'x', 'y')").run(),
      ).toThrow(/FOREIGN KEY constraint failed/);
    },
  },
];

describe('rmm db plan / db apply on a populated database', { timeout: 120_000 }, () => {
  it.each(safeChanges)(
    '$name: every row survives, foreign keys and integrity hold, then no changes',
    async (change) => {
      await populatedDatabase();
      const before = snapshot();
      const auditsBefore = migrationAudits();
      const schema = schemaVariant('changed.yaml', change.edit);

      const plan = await cli('db', 'plan', '--schema-file', schema, '--detailed-exitcode');
      expect(plan.exitCode, plan.stderr).toBe(2);
      expect(plan.stdout.split('\n')).toContain(change.planLine);
      expect(plan.stdout).toContain(`Plan: ${change.steps} steps, 0 destructive.`);

      const apply = await cli('db', 'apply', '--schema-file', schema);
      expect(apply.exitCode, apply.stderr).toBe(0);
      expect(apply.stdout).toContain(`Applied ${change.steps} steps.`);

      expect(restrictTo(before, snapshot())).toEqual(before);
      expect(integrity()).toEqual({ foreignKeyCheck: [], integrityCheck: 'ok' });
      // Each step left its AuditLog row.
      expect(migrationAudits() - auditsBefore).toBe(change.steps);
      const db = new Database(dbFile);
      db.pragma('foreign_keys = ON');
      try {
        change.check(db);
      } finally {
        db.close();
      }

      const after = await cli('db', 'plan', '--schema-file', schema, '--detailed-exitcode');
      expect(after.exitCode, after.stderr).toBe(0);
      expect(after.stdout).toBe(`No changes. Database schema matches ${schema}.`);
    },
  );

  it('the foreign-key trap is avoided: rebuilding Devices keeps Inventory rows whose FK says ON DELETE CASCADE', async () => {
    const cascade = (doc: Document) =>
      doc.setIn(['tables', 'Inventory', 'foreignKeys', 0, 'onDelete'], 'CASCADE');
    await populatedDatabase(schemaVariant('cascade.yaml', cascade));
    expect(
      inspectOne((db) => db.prepare("SELECT on_delete FROM pragma_foreign_key_list('Inventory')").get()),
    ).toEqual({
      on_delete: 'CASCADE',
    });
    const before = snapshot();
    const target = schemaVariant('cascade-rebuild.yaml', (doc) => {
      cascade(doc);
      doc.setIn(['tables', 'Devices', 'columns', 'OSBuild', 'type'], 'INTEGER');
    });
    const apply = await cli('db', 'apply', '--schema-file', target);
    expect(apply.exitCode, apply.stderr).toBe(0);
    expect(apply.stdout).toContain('~ rebuild table Devices (column OSBuild: type TEXT -> INTEGER)');
    expect(snapshot().Inventory).toHaveLength(3000);
    expect(snapshot()).toEqual(before);
    expect(integrity()).toEqual({ foreignKeyCheck: [], integrityCheck: 'ok' });
    expect((await cli('db', 'plan', '--schema-file', target, '--detailed-exitcode')).exitCode).toBe(0);
  });

  it('a dropped column is refused without --allow-destructive (exit 3, file byte-identical), applied with it', async () => {
    await populatedDatabase();
    const before = snapshot();
    const fingerprintBefore = fingerprint();
    const schema = schemaVariant('drop-column.yaml', (doc) =>
      doc.deleteIn(['tables', 'Devices', 'columns', 'CustomFields']),
    );

    const plan = await cli('db', 'plan', '--schema-file', schema);
    expect(plan.stdout).toContain('  ~ rebuild table Devices (column CustomFields dropped)  [destructive]');
    expect(plan.stdout).toContain('Plan: 2 steps, 1 destructive.');

    const refused = await cli('db', 'apply', '--schema-file', schema);
    expect(refused.exitCode).toBe(3);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(
      'Error: refusing to apply 1 destructive step (data would be lost); nothing was changed',
    );
    expect(refused.stderr).toContain('rebuild table Devices (column CustomFields dropped)');
    expect(refused.stderr).toContain('rmm db apply --allow-destructive');
    expect(fingerprint()).toBe(fingerprintBefore);

    const applied = await cli('db', 'apply', '--schema-file', schema, '--allow-destructive');
    expect(applied.exitCode, applied.stderr).toBe(0);
    const after = snapshot();
    expect(Object.keys(after.Devices?.[0] as object)).not.toContain('CustomFields');
    const { Devices: devicesBefore, ...othersBefore } = before;
    const { Devices: devicesAfter, ...othersAfter } = after;
    expect(othersAfter).toEqual(othersBefore);
    expect(devicesAfter).toEqual(
      (devicesBefore as Record<string, unknown>[]).map(({ CustomFields: _, ...rest }) => rest),
    );
    expect(integrity()).toEqual({ foreignKeyCheck: [], integrityCheck: 'ok' });
    expect((await cli('db', 'plan', '--schema-file', schema, '--detailed-exitcode')).exitCode).toBe(0);
  });

  it('a dropped table is refused without --allow-destructive (exit 3, file byte-identical), applied with it', async () => {
    await populatedDatabase();
    const fingerprintBefore = fingerprint();
    const schema = schemaVariant('drop-table.yaml', (doc) => doc.deleteIn(['tables', 'AuditLog']));

    const refused = await cli('db', 'apply', '--schema-file', schema, '--json');
    expect(refused.exitCode).toBe(3);
    expect(JSON.parse(refused.stdout)).toEqual({
      error: {
        code: 'destructive-refused',
        message: 'refusing to apply 1 destructive step (data would be lost); nothing was changed',
        details: ['drop table AuditLog', 'to apply them anyway: rmm db apply --allow-destructive'],
      },
    });
    expect(fingerprint()).toBe(fingerprintBefore);

    const applied = await cli('db', 'apply', '--schema-file', schema, '--allow-destructive');
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('  - drop table AuditLog  [destructive]');
    expect(
      inspectOne((db) => db.prepare("SELECT name FROM sqlite_master WHERE name = 'AuditLog'").all()),
    ).toEqual([]);
    expect(snapshot(['Devices', 'Inventory']).Inventory).toHaveLength(3000);
  });

  it('NOT NULL added to a column holding NULLs: a clear error, exit 1, nothing changed', async () => {
    await populatedDatabase();
    const fingerprintBefore = fingerprint();
    const schema = schemaVariant('fqdn-not-null.yaml', (doc) =>
      doc.setIn(['tables', 'Devices', 'columns', 'FQDN', 'notNull'], true),
    );
    const result = await cli('db', 'apply', '--schema-file', schema);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'Error: migration failed at step "rebuild table Devices (column FQDN: NOT NULL added)": NOT NULL constraint failed: Devices.FQDN',
    );
    expect(result.stderr).toContain('the transaction was rolled back; nothing was changed');
    expect(fingerprint()).toBe(fingerprintBefore);
  });
});

describe('rmm db plan output', { timeout: 60_000 }, () => {
  it('--sql shows each step with its SQL; --json has the documented shape', async () => {
    expect((await cli('init')).exitCode).toBe(0);
    const schema = schemaVariant('more.yaml', (doc) => {
      doc.setIn(['tables', 'Devices', 'columns', 'Notes'], { type: 'TEXT' });
      doc.setIn(['tables', 'Legacy'], { columns: { Id: { type: 'TEXT', primaryKey: true } } });
    });
    const plan = await cli('db', 'plan', '--schema-file', schema, '--sql');
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toContain(
      '  + create table Legacy\n      CREATE TABLE "Legacy" (\n          "Id" TEXT PRIMARY KEY\n      );',
    );
    expect(plan.stdout).toContain(
      '  + add column Devices.Notes TEXT\n      ALTER TABLE "Devices" ADD COLUMN "Notes" TEXT;',
    );
    expect(plan.stdout).toMatch(
      / {2}~ record schema hash [0-9a-f]{12} in RmmMeta\n {6}DELETE FROM "RmmMeta"/,
    );

    const json = JSON.parse((await cli('db', 'plan', '--schema-file', schema, '--json')).stdout);
    expect(json).toMatchObject({
      formatVersion: 1,
      database: dbFile,
      fromHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      toHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      summary: { steps: 3, destructive: 0 },
    });
    expect(json.fromHash).not.toBe(json.toHash);
    expect(json.steps.map((s: { action: string }) => s.action)).toEqual([
      'create table',
      'add column',
      'record schema hash',
    ]);
  });

  it('without a database: says so, suggests rmm init, exit 1', async () => {
    const result = await cli('db', 'plan');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Error: no database at data/devices.db');
    expect(result.stderr).toContain('rmm init');
    expect(existsSync(dbFile)).toBe(false);
  });

  it('apply with nothing to do says No changes', async () => {
    await cli('init');
    const result = await cli('db', 'apply');
    expect(result).toMatchObject({
      exitCode: 0,
      stdout: 'No changes. Database schema matches schemas/database.yaml.',
    });
  });
});

interface InvalidSchema {
  name: string;
  edit: (text: string) => string;
  expected: string;
}

const invalidSchemas: InvalidSchema[] = [
  {
    name: 'unknown column attribute',
    edit: (t) =>
      t.replace(
        'Hostname: {type: TEXT, notNull: true}',
        'Hostname: {type: TEXT, notNull: true, unique: true}',
      ),
    expected:
      'bad.yaml:17:45: unknown field "unique"; expected one of: type, primaryKey, autoincrement, notNull, default, defaultExpr, rebuildFrom',
  },
  {
    name: 'foreign key to a missing table',
    edit: (t) =>
      t.replace(
        '- {columns: [DeviceId], references: {table: Devices, columns: [DeviceId]}}',
        '- {columns: [DeviceId], references: {table: Device, columns: [DeviceId]}}',
      ),
    expected: 'bad.yaml:116:51: table "Device" is not declared; did you mean "Devices"?',
  },
  {
    name: 'index on a missing column',
    edit: (t) =>
      t.replace('idx_devices_status: {columns: [Status]}', 'idx_devices_status: {columns: [State]}'),
    expected: 'bad.yaml:35:38: column "State" is not declared; did you mean "Status"?',
  },
  {
    name: 'a trigger outside rmm_ names',
    edit: (t) => t.replace('      rmm_edit_sites_insert:', '      edit_sites_insert:'),
    expected:
      'bad.yaml:65:7: key "edit_sites_insert" must start with rmm_: rmm drops only its own undeclared triggers',
  },
  {
    name: 'a trigger whose statement names another table',
    edit: (t) =>
      t.replace(
        'CREATE TRIGGER rmm_edit_sites_delete AFTER DELETE ON Sites',
        'CREATE TRIGGER rmm_edit_sites_delete AFTER DELETE ON Devices',
      ),
    expected:
      'bad.yaml:77:14: must be CREATE TRIGGER rmm_edit_sites_delete ... ON Sites ...: the name and table it is declared under',
  },
  {
    name: 'YAML syntax error',
    edit: (t) => t.replace('Sites:\n    columns:', 'Sites:\n    columns: [\n'),
    expected: 'bad.yaml:',
  },
];

describe('an invalid schemas/database.yaml', { timeout: 60_000 }, () => {
  it.each(invalidSchemas)('$name: FILE:LINE:COL message, exit 1', async ({ edit, expected }) => {
    const original = readFileSync(databaseSchemaFile, 'utf8');
    const text = edit(original);
    expect(text).not.toBe(original);
    writeFileSync(path.join(cwd, 'bad.yaml'), text);
    for (const command of [['db', 'plan'], ['db', 'apply'], ['init']]) {
      const result = await cli(...command, '--schema-file', 'bad.yaml');
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('Error: bad.yaml is invalid\n  ');
      expect(result.stderr).toMatch(new RegExp(`\\n {2}${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      expect(result.stderr).toMatch(/\n {2}bad\.yaml:\d+:\d+: /);
    }
  });
});
