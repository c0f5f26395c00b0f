import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';
import { DROP_MANAGED_TRIGGERS } from '../helpers/older-schema.js';
import { execFile, queryFile } from '../helpers/sqlite.js';

/**
 * Plan and apply over a database whose schema is behind (a newer rmm was installed), and prune of
 * devices that have observed history.
 */
let cwd: string;
let repo: string;
const db = () => path.join(cwd, 'data', 'devices.db');
const rmm = (...args: string[]) => runCli(args, { cwd });
const query = <T>(sql: string, ...params: unknown[]): T[] => queryFile<T>(db(), sql, ...params);
const exec = (sql: string) => execFile(db(), sql);
const fileHash = async () =>
  createHash('sha256')
    .update(await readFile(db()))
    .digest('hex');

/** What the previous rmm release created: ManagedResources without AppliedHash, and its schema hash. */
const olderRelease = () =>
  exec(
    `${DROP_MANAGED_TRIGGERS} ALTER TABLE ManagedResources DROP COLUMN AppliedHash; UPDATE RmmMeta SET Value = 'older' WHERE Key = 'schema_hash'`,
  );

beforeEach(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-reconcile-'));
  repo = path.join(cwd, 'repo');
  await copyExamples(repo);
  expect((await rmm('init')).exitCode).toBe(0);
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('schema first: plan and apply over a database behind schemas/database.yaml', () => {
  it('plan shows the pending safe steps before the resource changes and changes nothing', async () => {
    olderRelease();
    const before = await fileHash();
    const plan = await rmm(
      'plan',
      '-f',
      path.join(repo, 'relays'),
      '-f',
      path.join(repo, 'sites'),
      '--detailed-exitcode',
    );
    expect(plan.exitCode).toBe(2);
    expect(plan.stdout).toMatch(
      /^Database schema: 5 pending steps, run first by rmm apply in the same transaction:\n {2}\+ add column ManagedResources\.AppliedHash.*\n( {2}\+ create trigger rmm_edit_managed_resources_\w+ on ManagedResources\n){3} {2}~ record schema hash/,
    );
    expect(plan.stdout.indexOf('+ Site/alpha')).toBeGreaterThan(plan.stdout.indexOf('record schema hash'));
    const json = JSON.parse(
      (await rmm('plan', '-f', path.join(repo, 'relays'), '-f', path.join(repo, 'sites'), '--json')).stdout,
    );
    expect(json.migration.map((s: { action: string }) => s.action)).toEqual([
      'add column',
      'create trigger',
      'create trigger',
      'create trigger',
      'record schema hash',
    ]);
    expect(await fileHash()).toBe(before);
  });

  it('apply runs them and the resource changes in one transaction; a second plan is empty', async () => {
    olderRelease();
    const apply = await rmm('apply', '-f', repo, '-R', '--auto-approve');
    expect(apply.exitCode).toBe(0);
    expect((await rmm('db', 'plan', '--detailed-exitcode')).exitCode).toBe(0);
    const plan = await rmm('plan', '-f', repo, '-R', '--detailed-exitcode');
    expect(plan.stdout).toContain('No changes.');
    expect(plan.exitCode).toBe(0);
    expect(
      query<{ n: number }>('SELECT count(*) AS n FROM ManagedResources WHERE AppliedHash IS NULL'),
    ).toEqual([{ n: 0 }]);
  });

  it('with no resource change, apply still brings the schema up to date', async () => {
    expect((await rmm('apply', '-f', repo, '-R', '--auto-approve')).exitCode).toBe(0);
    olderRelease();
    const apply = await rmm('apply', '-f', repo, '-R', '--auto-approve');
    expect(apply.exitCode).toBe(0);
    expect(apply.stdout).toContain('add column ManagedResources.AppliedHash');
    expect((await rmm('db', 'plan', '--detailed-exitcode')).exitCode).toBe(0);
  });

  it('a saved plan made before the schema moved is refused as stale', async () => {
    const saved = path.join(cwd, 'plan.json');
    expect((await rmm('plan', '-f', repo, '-R', '--out', saved)).exitCode).toBe(0);
    olderRelease();
    const before = await fileHash();
    const apply = await rmm('apply', saved);
    expect(apply.exitCode).toBe(1);
    expect(apply.stderr).toContain('the database schema changed since this plan was computed');
    expect(await fileHash()).toBe(before);
  });

  it('a destructive step stops plan and apply, pointing at rmm db apply --allow-destructive', async () => {
    exec('CREATE TABLE Legacy (Id INTEGER PRIMARY KEY)');
    const before = await fileHash();
    for (const args of [['plan'], ['apply', '--auto-approve']]) {
      const result = await rmm(...args, '-f', repo, '-R');
      expect(result.exitCode).toBe(3);
      expect(result.stderr).toContain('catching up would lose data');
      expect(result.stderr).toContain('drop table Legacy');
      expect(result.stderr).toContain('rmm db apply --allow-destructive');
    }
    expect(await fileHash()).toBe(before);
  });

  it('get and export still need the schema current, and say so', async () => {
    olderRelease();
    for (const args of [['get', 'sites'], ['export']]) {
      const result = await rmm(...args);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('the database schema is behind schemas/database.yaml');
      expect(result.stderr).toContain('rmm db apply');
    }
  });
});

describe('prune of a device with observed history', () => {
  it('the plan counts the rows that go with it, apply deletes them with it, and AuditLog records them', async () => {
    expect((await rmm('apply', '-f', repo, '-R', '--auto-approve')).exitCode).toBe(0);
    exec(`INSERT INTO Inventory (DeviceId, Category, Data) VALUES ('alpha-web-01', 'os', '{}'), ('alpha-web-01', 'cpu', '{}');
          INSERT INTO Metrics (DeviceId, MetricType, Value, Timestamp) VALUES ('alpha-web-01', 'cpu', 1, 1), ('alpha-web-01', 'cpu', 2, 2), ('alpha-web-01', 'mem', 3, 3);
          INSERT INTO Metrics (DeviceId, MetricType, Value, Timestamp) VALUES ('alpha-web-02', 'cpu', 1, 1);
          INSERT INTO Actions (ActionId, DeviceId, ActionType) VALUES ('a1', 'alpha-web-01', 'exec');`);
    // Declare every alpha device except alpha-web-01.
    const file = path.join(repo, 'devices', 'alpha.yaml');
    const docs = (await readFile(file, 'utf8')).split(/^---\n/m);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, docs.filter((d) => !d.includes('name: alpha-web-01\n')).join('---\n'));

    const plan = await rmm('plan', '-f', repo, '-R', '--prune');
    expect(plan.stdout).toContain(
      '  - Device/alpha-web-01 (its observed history goes with it: 2 Inventory rows, 3 Metrics rows)',
    );
    const json = JSON.parse((await rmm('plan', '-f', repo, '-R', '--prune', '--json')).stdout);
    expect(json.changes).toEqual([
      expect.objectContaining({
        action: 'delete',
        name: 'alpha-web-01',
        dependents: [
          { table: 'Inventory', rows: 2 },
          { table: 'Metrics', rows: 3 },
        ],
      }),
    ]);

    expect((await rmm('apply', '-f', repo, '-R', '--prune', '--auto-approve')).exitCode).toBe(0);
    expect(query('SELECT DeviceId FROM Devices WHERE DeviceId = ?', 'alpha-web-01')).toEqual([]);
    expect(query('SELECT * FROM Inventory')).toEqual([]);
    expect(query<{ DeviceId: string }>('SELECT DeviceId FROM Metrics')).toEqual([
      { DeviceId: 'alpha-web-02' },
    ]);
    // Actions are the queue's history, not the device's state: kept.
    expect(query<{ ActionId: string }>('SELECT ActionId FROM Actions')).toEqual([{ ActionId: 'a1' }]);
    const [audit] = query<{ Details: string }>(
      "SELECT Details FROM AuditLog WHERE Action = 'apply.delete Device/alpha-web-01'",
    );
    expect(JSON.parse(audit?.Details ?? '{}').dependentsDeleted).toEqual([
      { table: 'Inventory', rows: 2 },
      { table: 'Metrics', rows: 3 },
    ]);
    expect(query('PRAGMA foreign_key_check')).toEqual([]);
  });
});
