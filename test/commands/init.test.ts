import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { databaseSchemaFile } from '../../src/paths.js';
import { runCli } from '../helpers/cli.js';

/**
 * The expectations come from schemas/database.yaml read here with the plain `yaml` parser, not through
 * rmm's loader, so a loader bug cannot hide behind itself.
 */
interface YamlColumn {
  type: string;
  primaryKey?: boolean;
  notNull?: boolean;
  default?: string | number;
  defaultExpr?: string;
}
interface YamlSchema {
  tables: Record<
    string,
    { columns: Record<string, YamlColumn>; indexes?: Record<string, unknown>; primaryKey?: string[] }
  >;
}
const declared = parse(readFileSync(databaseSchemaFile, 'utf8')) as YamlSchema;

function expectedDefault(column: YamlColumn): string | null {
  if (column.defaultExpr !== undefined) return column.defaultExpr;
  if (typeof column.default === 'string') return `'${column.default.replaceAll("'", "''")}'`;
  if (typeof column.default === 'number') return String(column.default);
  return null;
}

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), 'rmm-init-'));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

function readSchema(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    const objects = db
      .prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
      )
      .all() as { type: string; name: string; sql: string }[];
    const columnsOf = new Map(
      objects
        .filter((o) => o.type === 'table')
        .map((o) => [
          o.name,
          db.prepare('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)').all(o.name),
        ]),
    );
    const columns = (table: string) => columnsOf.get(table);
    const site = db.prepare("SELECT SiteId, Name, Location, Timezone FROM Sites WHERE SiteId = 'main'").get();
    return {
      objects,
      columns,
      site,
      sites: (db.prepare('SELECT count(*) AS n FROM Sites').get() as { n: number }).n,
    };
  } finally {
    db.close();
  }
}

describe('rmm init', { timeout: 60_000 }, () => {
  it('creates data/devices.db with exactly the declared tables, columns and indexes, and the main site', async () => {
    const result = await runCli(['init'], { cwd });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      'Created data/devices.db: 23 tables, 18 indexes, 24 triggers, 1 seed row (site main).',
    );
    expect(result.exitCode).toBe(0);
    expect(existsSync(path.join(cwd, 'data', 'cache'))).toBe(true);
    expect(existsSync(path.join(cwd, 'data', 'archive'))).toBe(true);

    const live = readSchema(path.join(cwd, 'data', 'devices.db'));
    const tables = live.objects.filter((o) => o.type === 'table').map((o) => o.name);
    const indexes = live.objects.filter((o) => o.type === 'index').map((o) => o.name);
    expect(new Set(tables)).toEqual(new Set(Object.keys(declared.tables)));
    expect(new Set(indexes)).toEqual(
      new Set(Object.values(declared.tables).flatMap((t) => Object.keys(t.indexes ?? {}))),
    );
    for (const [name, table] of Object.entries(declared.tables)) {
      const key = table.primaryKey ?? Object.keys(table.columns).filter((c) => table.columns[c]?.primaryKey);
      expect(live.columns(name), name).toEqual(
        Object.entries(table.columns).map(([column, c]) => ({
          name: column,
          type: c.type,
          notnull: c.notNull ? 1 : 0,
          dflt_value: expectedDefault(c),
          pk: key.indexOf(column) + 1,
        })),
      );
    }
    expect(live.site).toEqual({ SiteId: 'main', Name: 'Main Site', Location: 'Default', Timezone: 'UTC' });
  });

  it('a second run has nothing to do and changes nothing', async () => {
    await runCli(['init'], { cwd });
    const file = path.join(cwd, 'data', 'devices.db');
    const before = readSchema(file);
    const again = await runCli(['init'], { cwd });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(
      /^Nothing to do: DB is up to date with schemas\/database\.yaml \(schema [0-9a-f]{12}\)\.$/,
    );
    const after = readSchema(file);
    expect(after.objects).toEqual(before.objects);
    expect(after.sites).toBe(1);
  });

  it('honours --data-dir', async () => {
    const result = await runCli(['init', '--data-dir', 'custom/home'], { cwd });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^Created custom\/home\/devices\.db: /);
    for (const entry of ['devices.db', 'cache', 'archive'])
      expect(existsSync(path.join(cwd, 'custom', 'home', entry))).toBe(true);
    expect(existsSync(path.join(cwd, 'data'))).toBe(false);
  });

  it('honours RMM_DATA_DIR, and --data-dir wins over it', async () => {
    const fromEnv = await runCli(['init'], { cwd, env: { RMM_DATA_DIR: path.join(cwd, 'env-home') } });
    expect(fromEnv.exitCode).toBe(0);
    expect(existsSync(path.join(cwd, 'env-home', 'devices.db'))).toBe(true);
    const fromFlag = await runCli(['init', '--data-dir', 'flag-home'], {
      cwd,
      env: { RMM_DATA_DIR: path.join(cwd, 'env-home') },
    });
    expect(fromFlag.stdout).toMatch(/^Created flag-home\/devices\.db/);
    expect(existsSync(path.join(cwd, 'data'))).toBe(false);
  });

  it('--json reports the database, created and the steps', async () => {
    const result = await runCli(['init', '--json'], { cwd });
    expect(result.exitCode).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({ database: path.join(cwd, 'data', 'devices.db'), created: true });
    expect(json.steps).toHaveLength(67);
    expect(json.steps[0]).toMatchObject({ action: 'create table', object: 'Devices', destructive: false });
    const again = JSON.parse((await runCli(['init', '--json'], { cwd })).stdout);
    expect(again).toMatchObject({ created: false, steps: [] });
  });

  it('an existing database that differs: changes nothing, points at db plan / db apply, exits 1', async () => {
    await runCli(['init'], { cwd });
    const file = path.join(cwd, 'data', 'devices.db');
    const db = new Database(file);
    db.exec('DROP INDEX idx_devices_status');
    db.close();
    const before = readSchema(file);
    const result = await runCli(['init'], { cwd });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      'Error: data/devices.db exists but differs from schemas/database.yaml; init changed nothing',
    );
    expect(result.stderr).toContain('+ create index idx_devices_status on Devices (Status)');
    expect(result.stderr).toContain('rmm db plan');
    expect(result.stderr).toContain('rmm db apply');
    expect(readSchema(file).objects).toEqual(before.objects);
  });

  it('an invalid schema file: file:line:col, exit 1, no database created', async () => {
    writeFileSync(
      path.join(cwd, 'bad.yaml'),
      readFileSync(databaseSchemaFile, 'utf8').replace(
        'Hostname: {type: TEXT, notNull: true}',
        'Hostname: {type: TEXT, nullable: false}',
      ),
    );
    const result = await runCli(['init', '--schema-file', 'bad.yaml'], { cwd });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Error: bad.yaml is invalid');
    expect(result.stderr).toMatch(/bad\.yaml:17:30: unknown field "nullable"/);
    expect(existsSync(path.join(cwd, 'data', 'devices.db'))).toBe(false);
  });
});
