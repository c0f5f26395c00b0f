import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planInputs } from '../../src/cli/plan-inputs.js';
import { inventoryStore } from '../../src/inventory/store.js';
import { commitPlan } from '../../src/reconcile/apply.js';
import { openDatabase } from '../../src/state/connection.js';
import type { ManifestUpdate } from '../../src/state/source-manifests.js';
import { runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';
import { execFile, queryFile } from '../helpers/sqlite.js';

// Issue 16: a plan leaves unread the files whose manifests say they are as last applied, and must
// give exactly the full plan's result. Each case edits the applied examples, then plans twice.

let cwd: string;
let repo: string;
const db = () => path.join(cwd, 'data', 'devices.db');
const rmm = (...args: string[]) => runCli(args, { cwd, env: { RMM_TIMING: '1' } });
const devices = (site: string) => path.join(repo, 'devices', `${site}.yaml`);
const INCREMENTAL = /^\[timing\] incremental: read (\d+), unread (\d+)$/m;

/** The documents of a file, cut at `---` lines. */
async function documents(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split(/^---\n/m);
}

/**
 * Plans incrementally and in full; both must print the same stdout, stderr (timings aside) and exit
 * code. Returns what the incremental run read (undefined when it planned in full).
 */
async function samePlans(...args: string[]): Promise<{ read: number; unread: number } | undefined> {
  const incremental = await rmm('plan', '-f', repo, '-R', '--json', ...args);
  const full = await rmm('plan', '-f', repo, '-R', '--json', '--no-incremental', ...args);
  const errors = (text: string) => text.replace(/^\[timing\].*\n?/gm, '');
  expect(incremental.exitCode, incremental.stderr).toBe(full.exitCode);
  expect(incremental.stdout).toBe(full.stdout);
  expect(errors(incremental.stderr)).toBe(errors(full.stderr));
  expect(full.stderr).not.toMatch(INCREMENTAL);
  const seen = INCREMENTAL.exec(incremental.stderr);
  return seen ? { read: Number(seen[1]), unread: Number(seen[2]) } : undefined;
}

beforeEach(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-incremental-'));
  repo = path.join(cwd, 'repo');
  await copyExamples(repo);
  expect((await rmm('init')).exitCode).toBe(0);
  const applied = await rmm('apply', '-f', repo, '-R', '--auto-approve');
  expect(applied.exitCode, applied.stderr).toBe(0);
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('an incremental plan is the full plan', () => {
  it('leaves every file unread when nothing changed', async () => {
    const files = queryFile<{ n: number }>(db(), 'SELECT count(*) AS n FROM SourceManifests')[0]?.n;
    expect(files).toBeGreaterThan(10);
    expect(await samePlans()).toEqual({ read: 0, unread: files });
  });

  it('a changed file: only it is read', async () => {
    const text = await readFile(devices('alpha'), 'utf8');
    await writeFile(devices('alpha'), text.replace('owner: web-team', 'owner: other-team'));
    const read = await samePlans();
    expect(read?.read).toBe(1);
    const plan = JSON.parse((await rmm('plan', '-f', repo, '-R', '--json')).stdout);
    expect(plan.changes.length).toBeGreaterThan(0);
  });

  it('an added file, and a device removed from a file, with and without --prune', async () => {
    const [first = '', ...rest] = await documents(devices('gamma'));
    await writeFile(devices('gamma'), rest.join('---\n'));
    await writeFile(
      path.join(repo, 'devices', 'delta.yaml'),
      first.replace(/name: gamma-[\w-]+/, 'name: delta-01'),
    );
    expect((await samePlans())?.read).toBe(2);
    expect((await samePlans('--prune'))?.read).toBe(2);
  });

  it('a removed file: its devices are pruned, or listed as no longer declared', async () => {
    await rm(devices('gamma'));
    expect((await samePlans())?.read).toBe(0);
    const pruned = await rmm('plan', '-f', repo, '-R', '--json', '--prune');
    expect(JSON.parse(pruned.stdout).summary.destroy).toBeGreaterThan(0);
    expect((await samePlans('--prune'))?.read).toBe(0);
  });

  it('a renamed file: its devices move to the new file, neither deleted nor created', async () => {
    await rename(devices('beta'), path.join(repo, 'devices', 'beta-renamed.yaml'));
    expect((await samePlans('--prune'))?.read).toBe(1);
    const plan = JSON.parse((await rmm('plan', '-f', repo, '-R', '--json', '--prune')).stdout);
    expect(plan.summary).toEqual({ add: 0, change: expect.any(Number), destroy: 0 });
    expect(plan.changes[0].previousOwner).toEqual({ set: 'default', source: 'repo/devices/beta.yaml' });
  });

  it('a device moved between files', async () => {
    const [first = '', ...rest] = await documents(devices('alpha'));
    await writeFile(devices('alpha'), rest.join('---\n'));
    await writeFile(devices('beta'), `${await readFile(devices('beta'), 'utf8')}---\n${first}`);
    expect((await samePlans('--prune'))?.read).toBe(2);
  });

  it('a device moved to a file that did not change is declared twice: the full check says so', async () => {
    const [first = ''] = await documents(devices('alpha'));
    await writeFile(devices('beta'), `${await readFile(devices('beta'), 'utf8')}---\n${first}`);
    expect(await samePlans()).toBeUndefined();
    const plan = await rmm('plan', '-f', repo, '-R');
    expect(plan.exitCode).toBe(1);
    expect(plan.stderr).toContain('declared twice');
  });

  it('a reference broken by a changed file is an error, worded as in a full plan', async () => {
    const text = await readFile(devices('alpha'), 'utf8');
    await writeFile(devices('alpha'), text.replace('groups: [alpha-web]', 'groups: [alpha-wbe]'));
    expect(await samePlans()).toBeUndefined();
    const plan = await rmm('plan', '-f', repo, '-R');
    expect(plan.exitCode).toBe(1);
    expect(plan.stderr).toContain('group "alpha-wbe" is not declared');
  });

  it('a group an unchanged file refers to, removed with --prune: refused as in a full plan', async () => {
    const file = path.join(repo, 'groups', 'groups.yaml');
    const kept = (await documents(file)).filter((d) => !d.includes('name: alpha-web\n'));
    await writeFile(file, kept.join('---\n'));
    expect(await samePlans('--prune')).toBeUndefined();
    const plan = await rmm('plan', '-f', repo, '-R', '--prune');
    expect(plan.exitCode).toBe(1);
    expect(plan.stderr).toContain('kept resources still refer to');
  });
});

describe('when every file given changed', () => {
  it('the one check made stands: documents are checked once, and the plan is the full one', async () => {
    const text = await readFile(devices('alpha'), 'utf8');
    await writeFile(devices('alpha'), text.replace('owner: web-team', 'owner: other-team'));
    const args = ['plan', '-f', devices('alpha'), '--json'];
    const incremental = await rmm(...args);
    const full = await rmm(...args, '--no-incremental');
    expect(incremental.exitCode, incremental.stderr).toBe(0);
    expect(incremental.stdout).toBe(full.stdout);
    expect(incremental.stderr).toContain('[timing] incremental: read all, why every file changed');
    expect(incremental.stderr.match(/^\[timing\] checked documents:/gm)).toHaveLength(1);
  });
});

describe('drift stays exact', () => {
  it('rows edited behind rmm (UPDATE, DELETE, INSERT) are read and shown as a full plan shows them', async () => {
    execFile(
      db(),
      `UPDATE Devices SET Hostname = 'edited' WHERE DeviceId = 'alpha-web-01';
       DELETE FROM Devices WHERE DeviceId = 'beta-web-02';
       INSERT INTO Devices (DeviceId, Hostname) VALUES ('stray-01', 'stray');
       UPDATE ManagedResources SET Labels = '{"role":"edited"}' WHERE Kind = 'Device' AND Name = 'gamma-web-01'`,
    );
    // alpha, beta and gamma own the edited rows; stray-01 is nobody's and changes no plan.
    expect((await samePlans())?.read).toBe(3);
    const plan = JSON.parse((await rmm('plan', '-f', repo, '-R', '--json')).stdout);
    const change = (name: string) => plan.changes.find((c: { name: string }) => c.name === name);
    expect(change('alpha-web-01')).toMatchObject({ action: 'update', drift: true });
    expect(change('beta-web-02')).toMatchObject({ action: 'create' });
    expect(change('gamma-web-01')).toMatchObject({ action: 'update', drift: true });
    expect(change('stray-01')).toBeUndefined();
  });

  it("the console's own writes of observed columns mark nothing: the plan still reads no file", async () => {
    // The inventory store's own writes (an inventory collected, a device unreachable), then the rest
    // of the observed columns by hand.
    const conn = openDatabase(db());
    try {
      const store = inventoryStore(conn);
      store.save(
        'alpha-web-01',
        { os: { name: 'Ubuntu' } },
        { OSName: 'Ubuntu', OSVersion: '24.04', OSBuild: '6.8' },
      );
      store.unreachable('beta-web-01');
    } finally {
      conn.close();
    }
    execFile(
      db(),
      `UPDATE Devices SET LastSeen = CURRENT_TIMESTAMP, LastInventory = CURRENT_TIMESTAMP, Status = 'Online',
         OSName = 'Ubuntu', OSVersion = '24.04', OSBuild = '6.8', AgentVersion = '1'`,
    );
    expect(queryFile(db(), "SELECT Status FROM Devices WHERE DeviceId = 'alpha-web-01'")).toEqual([
      { Status: 'Online' },
    ]);
    expect(queryFile(db(), 'SELECT * FROM ResourceEdits')).toEqual([]);
    expect((await samePlans())?.read).toBe(0);
  });

  it('apply settles the marks it compared and writes none of its own', async () => {
    execFile(db(), `UPDATE Devices SET Hostname = 'edited' WHERE DeviceId = 'alpha-web-01'`);
    expect(queryFile(db(), 'SELECT Kind, Name FROM ResourceEdits')).toEqual([
      { Kind: 'Device', Name: 'alpha-web-01' },
    ]);
    expect((await rmm('apply', '-f', repo, '-R', '--auto-approve')).exitCode).toBe(0);
    expect(queryFile(db(), 'SELECT * FROM ResourceEdits')).toEqual([]);
    expect(await samePlans()).toEqual({ read: 0, unread: expect.any(Number) });
  });
});

describe('manifests follow the rows', () => {
  it('an apply that fails after its rows were written leaves rows, manifests and marks as they were', async () => {
    const manifests = () => queryFile(db(), 'SELECT * FROM SourceManifests ORDER BY SourceFile');
    const rows = () => queryFile(db(), 'SELECT DeviceId, CustomFields FROM Devices ORDER BY DeviceId');
    const before = { manifests: manifests(), rows: rows() };
    const text = await readFile(devices('alpha'), 'utf8');
    await writeFile(devices('alpha'), text.replaceAll('owner: web-team', 'owner: other-team'));
    execFile(db(), `UPDATE Devices SET Hostname = 'edited' WHERE DeviceId = 'gamma-web-01'`);
    const marks = queryFile(db(), 'SELECT * FROM ResourceEdits');
    // Fault injection, in process: the last manifest has no key, so SQLite refuses it (NOT NULL)
    // after every row was written; the transaction must take the rows back with it.
    const previous = process.cwd();
    process.chdir(cwd);
    try {
      const opened = await planInputs(
        [repo],
        { recursive: true, dataDir: path.join(cwd, 'data'), prune: false, readonly: false, recordKeys: true },
        'applied',
      );
      try {
        expect(opened.planned.plan.changes.length).toBeGreaterThan(0);
        const manifests = opened.manifests as ManifestUpdate;
        const broken = {
          ...manifests,
          files: [...manifests.files, { file: 'x', key: null as unknown as string, resources: [] }],
        };
        expect(() =>
          commitPlan(opened.db, opened.planned, 'test', 1000, 'devices.db', { manifests: broken }),
        ).toThrow(/NOT NULL/);
      } finally {
        opened.db.close();
      }
    } finally {
      process.chdir(previous);
    }
    expect(manifests()).toEqual(before.manifests);
    expect(rows()).toEqual(before.rows);
    expect(queryFile(db(), 'SELECT * FROM ResourceEdits')).toEqual(marks);
    expect((await samePlans())?.read).toBe(2);
  });

  it('a saved plan applied writes marks, so the files it came from are read again', async () => {
    const text = await readFile(devices('alpha'), 'utf8');
    await writeFile(devices('alpha'), text.replace('owner: web-team', 'owner: other-team'));
    const out = path.join(cwd, 'plan.json');
    expect((await rmm('plan', '-f', repo, '-R', '--out', out)).exitCode).toBe(0);
    await writeFile(devices('alpha'), text);
    expect((await rmm('apply', out)).exitCode).toBe(0);
    // The file is back as its manifest recorded it, but its rows are not: it is read and compared.
    expect((await samePlans())?.read).toBe(1);
  });

  it('--no-incremental plans in full; a database from before issue 16 gets the tables and triggers from apply', async () => {
    execFile(
      db(),
      `${['devices', 'managed_resources']
        .flatMap((t) => ['insert', 'update', 'delete'].map((e) => `DROP TRIGGER rmm_edit_${t}_${e};`))
        .join(' ')}
       DROP TABLE SourceManifests; UPDATE RmmMeta SET Value = 'older' WHERE Key = 'schema_hash'`,
    );
    // Behind the schema: plans in full, and apply migrates and records the manifests in one go.
    expect(await samePlans()).toBeUndefined();
    expect((await rmm('apply', '-f', repo, '-R', '--auto-approve')).exitCode).toBe(0);
    expect(
      queryFile(db(), "SELECT name FROM sqlite_master WHERE name = 'rmm_edit_devices_update'"),
    ).toHaveLength(1);
    expect(await samePlans()).toEqual({ read: 0, unread: expect.any(Number) });
  });
});
