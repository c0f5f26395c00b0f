import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRmmError, type RmmError } from '../../src/errors.js';
import { type Db, openDatabase } from '../../src/state/connection.js';
import { type DeclaredSchema, loadDeclaredSchema } from '../../src/state/declared-schema.js';
import { diffSchemas } from '../../src/state/diff.js';
import { inspectDatabase, whereOf } from '../../src/state/inspect.js';
import { applyMigration } from '../../src/state/migrate.js';
import { planMigration } from '../../src/state/migration-plan.js';

// The two places database.yaml holds SQL expressions: a partial index's `where` (the open-alert key
// of issue 12) and a column's `rebuildFrom` (Metrics.Timestamp turned from text to epoch ms).

const dir = mkdtempSync(path.join(tmpdir(), 'rmm-schema-expr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

const META = `  RmmMeta:
    columns:
      Key: {type: TEXT, primaryKey: true}
      Value: {type: TEXT, notNull: true}
`;

function schema(tables: string): DeclaredSchema {
  const file = path.join(dir, `database-${++counter}.yaml`);
  writeFileSync(file, `tables:\n${tables}${META}`);
  return loadDeclaredSchema(file);
}

function loadError(tables: string): { file: string; error: RmmError } {
  const file = path.join(dir, `database-${++counter}.yaml`);
  writeFileSync(file, `tables:\n${tables}${META}`);
  try {
    loadDeclaredSchema(file);
  } catch (error) {
    if (isRmmError(error)) return { file, error };
    throw error;
  }
  throw new Error('expected the schema to be refused');
}

function migrate(db: Db, declared: DeclaredSchema): string[] {
  const plan = planMigration(diffSchemas(inspectDatabase(db, declared.seeds), declared));
  applyMigration(db, plan, { allowDestructive: false });
  return plan.steps.map((s) => s.summary);
}

const alerts = (where: string) => `  Alerts:
    columns:
      AlertId: {type: TEXT, primaryKey: true}
      DeviceId: {type: TEXT, notNull: true}
      Source: {type: TEXT}
      ResolvedAt: {type: DATETIME}
    indexes:
      idx_alerts_open: {columns: [DeviceId, Source], unique: true, where: ${where}}
`;

describe('partial indexes (where)', () => {
  it('are created, read back equal (no change planned again), and enforce uniqueness only where true', () => {
    const declared = schema(alerts('"ResolvedAt  IS\n        NULL"'));
    expect(declared.tables[0]?.indexes[0]?.where).toBe('ResolvedAt IS NULL');
    const db = openDatabase(path.join(dir, `db-${++counter}.db`));
    try {
      expect(migrate(db, declared)).toContain(
        'create unique index idx_alerts_open on Alerts (DeviceId, Source) where ResolvedAt IS NULL',
      );
      expect(migrate(db, declared)).toEqual([]);
      const insert = db.prepare('INSERT INTO Alerts VALUES (?, ?, ?, ?)');
      insert.run('a1', 'dev', 'p/m', '2025-01-01 00:00:00');
      insert.run('a2', 'dev', 'p/m', '2025-01-02 00:00:00');
      insert.run('a3', 'dev', 'p/m', null);
      expect(() => insert.run('a4', 'dev', 'p/m', null)).toThrow(/UNIQUE constraint failed/);
    } finally {
      db.close();
    }
  });

  it('a changed where drops and recreates the index; a full index of the same columns is a different index', () => {
    const db = openDatabase(path.join(dir, `db-${++counter}.db`));
    try {
      migrate(db, schema(alerts('ResolvedAt IS NULL')));
      expect(migrate(db, schema(alerts('ResolvedAt IS NULL AND Source IS NOT NULL')))).toEqual(
        expect.arrayContaining([
          'drop index idx_alerts_open on Alerts',
          'create unique index idx_alerts_open on Alerts (DeviceId, Source) where ResolvedAt IS NULL AND Source IS NOT NULL',
        ]),
      );
      const full = alerts('x').replace(', where: x', '');
      expect(migrate(db, schema(full))).toEqual(
        expect.arrayContaining([
          'drop index idx_alerts_open on Alerts',
          'create unique index idx_alerts_open on Alerts (DeviceId, Source)',
        ]),
      );
    } finally {
      db.close();
    }
  });

  it.each([
    ['ResolvedAt IS NULL; DROP TABLE Alerts', 'a second statement'],
    ['ResolvedAt IS NULL -- x', 'a comment'],
    ['ResolvedAt /* x */ IS NULL', 'a block comment'],
  ])('refuses %j (%s) at its position, before anything opens', (where) => {
    const { file, error } = loadError(alerts(JSON.stringify(where)));
    expect(error.details).toEqual([
      `${file}:9:75: ${JSON.stringify(where)} must be one SQL expression, without ; or comments`,
    ]);
  });

  it('a partial unique index is not a foreign key parent (SQLite refuses it as one)', () => {
    const { file, error } = loadError(`${alerts('ResolvedAt IS NULL')}  Notes:
    columns:
      NoteId: {type: TEXT, primaryKey: true}
      DeviceId: {type: TEXT}
      Source: {type: TEXT}
    foreignKeys:
      - {columns: [DeviceId, Source], references: {table: Alerts, columns: [DeviceId, Source]}}
`);
    expect(error.details[0]).toMatch(
      new RegExp(
        `^${file}:16:\\d+: .*Alerts\\(DeviceId, Source\\) is neither its primary key nor a unique index`,
      ),
    );
  });

  it('whereOf reads the expression after the column list, past parentheses and quoted names', () => {
    expect(whereOf('CREATE INDEX "i(" ON "t)" ("a)", [b(]) WHERE (x > 1) AND "c)" IS NULL')).toBe(
      '(x > 1) AND "c)" IS NULL',
    );
    expect(whereOf("CREATE INDEX i ON t (a)\n  where\n  a  = '('")).toBe("a = '('");
  });
});

const metrics = (timestamp: string) => `  Metrics:
    columns:
      MetricId: {type: INTEGER, primaryKey: true, autoincrement: true}
      Value: {type: REAL, notNull: true}
      Timestamp: ${timestamp}
`;
const EPOCH_MS =
  'rebuildFrom: "CASE WHEN typeof(Timestamp) = \'text\' THEN CAST(round((julianday(Timestamp) - 2440587.5) * 86400000) AS INTEGER) ELSE Timestamp END"';

describe('rebuildFrom', () => {
  it('fills the column from its expression when the table is rebuilt, and leaves new-form values alone on the next rebuild', () => {
    const db = openDatabase(path.join(dir, `db-${++counter}.db`));
    try {
      migrate(db, schema(metrics('{type: DATETIME, defaultExpr: CURRENT_TIMESTAMP}')));
      db.exec(
        `INSERT INTO Metrics (Value, Timestamp) VALUES (1, '2025-01-02 03:04:05'), (2, '2025-01-02 03:04:05.250')`,
      );
      const summaries = migrate(db, schema(metrics(`{type: INTEGER, notNull: true, ${EPOCH_MS}}`)));
      expect(
        summaries.some((s) =>
          s.startsWith('rebuild table Metrics (column Timestamp: type DATETIME -> INTEGER'),
        ),
      ).toBe(true);
      const rows = () =>
        db.prepare('SELECT Value, Timestamp, typeof(Timestamp) AS t FROM Metrics ORDER BY MetricId').all();
      const expected = [
        { Value: 1, Timestamp: Date.UTC(2025, 0, 2, 3, 4, 5), t: 'integer' },
        { Value: 2, Timestamp: Date.UTC(2025, 0, 2, 3, 4, 5, 250), t: 'integer' },
      ];
      expect(rows()).toEqual(expected);
      // Another rebuild (a new column type elsewhere) runs the expression again: integers stay.
      migrate(
        db,
        schema(metrics(`{type: INTEGER, notNull: true, ${EPOCH_MS}}`).replace('type: REAL', 'type: DOUBLE')),
      );
      expect(rows()).toEqual(expected);
    } finally {
      db.close();
    }
  });
});
