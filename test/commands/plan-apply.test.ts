import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlanJson } from '../../src/views/plan-json.js';
import { runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';
import { execFile, queryFile } from '../helpers/sqlite.js';

let cwd: string;
let repo: string;
const db = () => path.join(cwd, 'data', 'devices.db');
const rmm = (...args: string[]) => runCli(args, { cwd });
const query = <T>(sql: string, ...params: unknown[]): T[] => queryFile<T>(db(), sql, ...params);
const exec = (sql: string) => execFile(db(), sql);
/** The example sites with the relays they name: the smallest part of the examples that plans alone. */
const sitesAndRelays = () => ['-f', path.join(repo, 'relays'), '-f', path.join(repo, 'sites')];

beforeEach(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-apply-'));
  repo = path.join(cwd, 'repo');
  await copyExamples(repo);
  expect((await rmm('init')).exitCode).toBe(0);
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm plan and rmm apply', () => {
  it('apply creates every declared resource, audits each, and a second plan is empty', async () => {
    const applied = await rmm('apply', '-f', repo, '-R', '--auto-approve', '--actor', 'ci-bot');
    expect(applied.exitCode).toBe(0);
    expect(applied.stdout).toContain('Apply complete: 173 added, 0 changed, 0 destroyed.');
    expect(query<{ n: number }>('SELECT count(*) AS n FROM Devices')[0]?.n).toBe(150);
    expect(
      query<{ n: number }>(
        "SELECT count(*) AS n FROM AuditLog WHERE User = 'ci-bot' AND Action LIKE 'apply.create %'",
      )[0]?.n,
    ).toBe(173);
    // A policy's interval has no Policies column: it is kept with the other declared-only fields.
    expect(
      query<{ Settings: string }>(
        "SELECT Settings FROM ManagedResources WHERE Kind = 'Policy' AND Name = 'linux-server-baseline'",
      ),
    ).toEqual([{ Settings: '{"interval":"1m"}' }]);
    const again = await rmm('plan', '-f', repo, '-R', '--detailed-exitcode');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe('No changes. The database matches the declared resources.');
  });

  it('plan shows a field-level change with exit 2, and apply leaves observed fields alone', async () => {
    await rmm('apply', '-f', repo, '-R', '--auto-approve');
    exec(
      "UPDATE Devices SET Status = 'Online', LastSeen = '2026-11-25 10:00:00', OSName = 'Debian' WHERE DeviceId = 'alpha-web-01'",
    );
    const file = path.join(repo, 'devices', 'alpha.yaml');
    const text = await readFile(file, 'utf8');
    const at = text.indexOf('customFields: {rack: R10', text.indexOf('name: alpha-web-01\n'));
    await writeFile(
      file,
      `${text.slice(0, at)}customFields: {rack: R99${text.slice(at + 'customFields: {rack: R10'.length)}`,
    );
    const plan = await rmm('plan', '-f', repo, '-R', '--detailed-exitcode');
    expect(plan.exitCode).toBe(2);
    expect(plan.stdout).toContain('  ~ Device/alpha-web-01\n      customFields.rack: "R10" -> "R99"');
    expect(plan.stdout).toContain('Plan: 0 to add, 1 to change, 0 to destroy.');
    expect((await rmm('apply', '-f', repo, '-R', '--auto-approve')).exitCode).toBe(0);
    expect(
      query('SELECT Status, LastSeen, OSName, CustomFields FROM Devices WHERE DeviceId = ?', 'alpha-web-01'),
    ).toEqual([
      {
        Status: 'Online',
        LastSeen: '2026-11-25 10:00:00',
        OSName: 'Debian',
        CustomFields: '{"rack":"R99","owner":"web-team"}',
      },
    ]);
  });

  it('a change made by hand in SQLite shows up as an update back to the declared value, labelled drift', async () => {
    await rmm('apply', '-f', repo, '-R', '--auto-approve');
    exec("UPDATE Sites SET Timezone = 'UTC' WHERE SiteId = 'beta'");
    exec(
      `UPDATE Devices SET CustomFields = '{"owner":"web-team","rack":"R10"}' WHERE DeviceId = 'alpha-web-01'`,
    );
    const plan = await rmm('plan', '-f', repo, '-R');
    expect(plan.stdout).toContain(
      '  ~ Site/beta (drift: changed outside rmm since the last apply; this puts back the declared value)\n      timezone: "UTC" -> "America/Denver"',
    );
    // Same fields in another key order: no change, and no drift either.
    expect(plan.stdout).not.toContain('Device/alpha-web-01');
    const json = JSON.parse((await rmm('plan', '-f', repo, '-R', '--json')).stdout);
    expect(json.changes.map((c: { name: string; drift?: boolean }) => [c.name, c.drift])).toEqual([
      ['beta', true],
    ]);

    // A change made in YAML is not drift.
    await rmm('apply', '-f', repo, '-R', '--auto-approve');
    const sites = path.join(repo, 'sites', 'beta.yaml');
    await writeFile(sites, (await readFile(sites, 'utf8')).replace('America/Denver', 'America/Chicago'));
    const yamlChange = await rmm('plan', '-f', repo, '-R');
    expect(yamlChange.stdout).toContain(
      '  ~ Site/beta\n      timezone: "America/Denver" -> "America/Chicago"',
    );
  });

  it('destroys resources removed from YAML only with --prune, and never rows it did not create', async () => {
    await rmm('apply', '-f', repo, '-R', '--auto-approve');
    exec("INSERT INTO Devices (DeviceId, Hostname) VALUES ('hand-made', 'hand-made')");
    await rm(path.join(repo, 'devices', 'gamma.yaml'));
    const kept = await rmm('apply', '-f', repo, '-R', '--auto-approve');
    expect(kept.stdout).toContain('No longer declared (kept; apply with --prune to destroy):');
    expect(query<{ n: number }>('SELECT count(*) AS n FROM Devices')[0]?.n).toBe(151);
    const pruned = await rmm('apply', '-f', repo, '-R', '--auto-approve', '--prune');
    expect(pruned.stdout).toContain('Apply complete: 0 added, 0 changed, 50 destroyed.');
    expect(
      query(
        'SELECT DeviceId FROM Devices WHERE DeviceId NOT LIKE ? AND DeviceId NOT LIKE ?',
        'alpha-%',
        'beta-%',
      ),
    ).toEqual([{ DeviceId: 'hand-made' }]);
    expect(query<{ n: number }>("SELECT count(*) AS n FROM Sites WHERE SiteId = 'main'")[0]?.n).toBe(1);
  });

  it('invalid input stops plan and apply before the database is touched: the file is byte-identical', async () => {
    await rmm('apply', '-f', repo, '-R', '--auto-approve');
    const before = createHash('sha256')
      .update(await readFile(db()))
      .digest('hex');
    await writeFile(
      path.join(repo, 'bad.yaml'),
      'apiVersion: rmm/v1\nkind: Device\nmetadata: {name: x}\nspec: {site: nowhere}\n',
    );
    for (const args of [['plan'], ['apply', '--auto-approve']]) {
      const result = await rmm(...args, '-f', repo, '-R');
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('bad.yaml:4:14: Device/x: site "nowhere" is not declared');
    }
    expect(
      createHash('sha256')
        .update(await readFile(db()))
        .digest('hex'),
    ).toBe(before);
  });

  it('apply without a terminal needs --auto-approve, and changes nothing without it', async () => {
    const result = await rmm('apply', '-f', repo, '-R');
    expect(result.exitCode).toBe(64);
    expect(result.stderr).toContain('--auto-approve');
    expect(query<{ n: number }>('SELECT count(*) AS n FROM Devices')[0]?.n).toBe(0);
  });

  it('get and export refuse a database whose schema is behind, pointing at rmm db apply', async () => {
    exec('DROP TABLE ManagedResources');
    for (const args of [['get', 'sites'], ['export']]) {
      const result = await rmm(...args);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('the database schema is behind schemas/database.yaml');
      expect(result.stderr).toContain('rmm db apply');
    }
  });

  it('--json gives the versioned plan', async () => {
    const result = await rmm('plan', ...sitesAndRelays(), '--json');
    const json = JSON.parse(result.stdout);
    expect(Object.keys(json)).toEqual([
      'formatVersion',
      'revision',
      'migration',
      'scope',
      'changes',
      'undeclared',
      'unowned',
      'summary',
      'blastRadius',
      'maintenance',
      'replay',
    ]);
    expect(json.formatVersion).toBe(1);
    expect(json.summary).toEqual({ add: 6, change: 0, destroy: 0 });
    expect(json.blastRadius).toEqual({ site: 0, groups: 0, policy: 0, monitors: 0, relays: [] });
    expect(json.changes[0]).toMatchObject({ action: 'create', kind: 'Relay', name: 'relay-alpha' });
    expect(json.changes[3]).toMatchObject({ action: 'create', kind: 'Site', name: 'alpha' });
  });

  it('apply --json writes NDJSON: an event per change, after the commit and in plan order, then a summary', async () => {
    const result = await rmm('apply', ...sitesAndRelays(), '--auto-approve', '--json');
    expect(result.exitCode).toBe(0);
    expect(result.stdout.endsWith('}')).toBe(true);
    // Exactly one JSON document per line, nothing else (no plan, no "Apply complete").
    const events = result.stdout.split('\n').map((line) => JSON.parse(line));
    expect(events).toEqual([
      ...[
        'Relay/relay-alpha',
        'Relay/relay-beta',
        'Relay/relay-gamma',
        'Site/alpha',
        'Site/beta',
        'Site/gamma',
      ].map((id) => ({
        type: 'change',
        formatVersion: 1,
        action: 'create',
        kind: id.split('/')[0],
        name: id.split('/')[1],
        fields: expect.any(Array),
        drift: false,
        adopt: false,
      })),
      {
        type: 'summary',
        formatVersion: 1,
        applied: true,
        added: 6,
        changed: 0,
        destroyed: 0,
        revision: 1,
        migrated: 0,
      },
    ]);
    expect(events[3].fields).toContainEqual({ path: ['timezone'], after: 'America/Chicago' });

    // Nothing to do: the summary line alone.
    const again = await rmm('apply', ...sitesAndRelays(), '--auto-approve', '--json');
    expect(again.exitCode).toBe(0);
    expect(again.stdout.split('\n').map((line) => JSON.parse(line))).toEqual([
      {
        type: 'summary',
        formatVersion: 1,
        applied: false,
        added: 0,
        changed: 0,
        destroyed: 0,
        revision: 1,
        migrated: 0,
      },
    ]);
  });

  it('apply --json that fails writes no event: the error goes to stderr with its exit code', async () => {
    // A trigger makes the last device's insert fail inside the transaction, after every other write.
    exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON Devices WHEN NEW.DeviceId = 'gamma-ws-30' BEGIN SELECT RAISE(ABORT, 'refused by test'); END",
    );
    const failed = await rmm('apply', '-f', repo, '-R', '--auto-approve', '--json');
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toContain('apply failed at create Device/gamma-ws-30: refused by test');
    expect(query<{ n: number }>('SELECT count(*) AS n FROM Sites')[0]?.n).toBe(1);

    exec('DROP TRIGGER refuse');
    const holder = new Database(db());
    holder.exec('BEGIN IMMEDIATE');
    try {
      const locked = await rmm('apply', '-f', repo, '-R', '--auto-approve', '--json', '--lock-timeout', '0');
      expect(locked.exitCode).toBe(5);
      expect(locked.stdout).toBe('');
      expect(locked.stderr).toContain('another writer holds the write lock');
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it('never shows a credential reference: plan, plan --json, plan --out fields and apply --json; the database holds it', async () => {
    const file = path.join(repo, 'devices', 'alpha.yaml');
    const secretish = /RMM_WINRM_PASSWORD|RMM_SSH_KEY|RMM_NEW_REF/;
    const planText = await rmm('plan', '-f', repo, '-R');
    expect(planText.stdout).toContain(
      'transport: {"type":"winrm","port":5985,"user":"rmm-svc","credentialRef":"(sensitive)"}',
    );
    const planJson = await rmm('plan', '-f', repo, '-R', '--json');
    const applied = await rmm('apply', '-f', repo, '-R', '--auto-approve', '--json');
    for (const out of [planText.stdout, planJson.stdout, applied.stdout]) expect(out).not.toMatch(secretish);
    expect(
      JSON.parse(planJson.stdout).changes.find((c: { name: string }) => c.name === 'alpha-dc-01'),
    ).toMatchObject({
      desired: { transport: { credentialRef: '(sensitive)' } },
    });
    expect(query('SELECT Settings FROM ManagedResources WHERE Name = ?', 'alpha-dc-01')).toEqual([
      { Settings: expect.stringContaining('"credentialRef":"env:RMM_WINRM_PASSWORD"') },
    ]);

    // A changed reference: shown as changed, never as itself; apply (of a saved plan too) writes it.
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('env:RMM_WINRM_PASSWORD', 'env:RMM_NEW_REF'),
    );
    const changed = await rmm('plan', '-f', repo, '-R');
    expect(changed.stdout).toContain(
      '  ~ Device/alpha-dc-01\n      transport.credentialRef: (sensitive) -> (sensitive)',
    );
    const planFile = path.join(cwd, 'plan.json');
    await rmm('plan', '-f', repo, '-R', '--out', planFile);
    const saved = JSON.parse(await readFile(planFile, 'utf8'));
    expect(JSON.stringify(saved.changes.map((c: { fields: unknown }) => c.fields))).not.toMatch(secretish);
    const fromFile = await rmm('apply', planFile);
    expect(fromFile.exitCode).toBe(0);
    expect(fromFile.stdout).not.toMatch(secretish);
    expect(query('SELECT Settings FROM ManagedResources WHERE Name = ?', 'alpha-dc-01')).toEqual([
      { Settings: expect.stringContaining('"credentialRef":"env:RMM_NEW_REF"') },
    ]);
  });

  it('counts the devices whose effective policy changes when a group policy changes', async () => {
    await rmm('apply', '-f', repo, '-R', '--auto-approve');
    const groups = path.join(repo, 'groups', 'groups.yaml');
    await writeFile(
      groups,
      (await readFile(groups, 'utf8')).replace(
        'policy: linux-server-baseline',
        'policy: windows-server-baseline',
      ),
    );
    // Every device in linux-servers or in a group under it.
    const [expected] = query<{ n: number }>(
      `SELECT count(DISTINCT d.DeviceId) AS n FROM Devices d, json_each(d.GroupIds) g
       JOIN DeviceGroups x ON x.GroupId = g.value
       WHERE x.GroupId = 'linux-servers' OR x.ParentGroupId = 'linux-servers'`,
    );
    expect(expected?.n).toBeGreaterThan(0);
    const plan = await rmm('plan', '-f', repo, '-R');
    expect(plan.stdout).toContain(
      `Devices affected: 0 change site, 0 change groups, ${expected?.n} change effective policy; ${expected?.n} devices' effective monitors change.`,
    );
    const json = JSON.parse((await rmm('plan', '-f', repo, '-R', '--json')).stdout);
    expect(json.blastRadius).toEqual({
      site: 0,
      groups: 0,
      policy: expected?.n,
      monitors: expected?.n,
      relays: [],
    });
  });

  it('a saved plan applies exactly what it shows, and is refused once stale (applied plans included)', async () => {
    const planFile = path.join(cwd, 'plan.json');
    const saved = await rmm('plan', ...sitesAndRelays(), '--out', planFile);
    expect(saved.exitCode).toBe(0);
    expect(saved.stderr).toContain(`rmm apply ${planFile}`);
    // The YAML changes after review: the saved plan still applies what was reviewed, nothing more.
    await rm(path.join(repo, 'sites', 'gamma.yaml'));
    const applied = await rmm('apply', planFile);
    expect(applied.exitCode).toBe(0);
    expect(applied.stdout).toContain('Apply complete: 6 added, 0 changed, 0 destroyed.');
    expect(query('SELECT SiteId FROM Sites ORDER BY SiteId')).toEqual([
      { SiteId: 'alpha' },
      { SiteId: 'beta' },
      { SiteId: 'gamma' },
      { SiteId: 'main' },
    ]);
    const again = await rmm('apply', planFile);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('the database changed since this plan was computed');
  });

  it('a saved plan that is not one is refused clearly', async () => {
    const planFile = path.join(cwd, 'plan.json');
    await writeFile(
      planFile,
      JSON.stringify({
        kind: 'rmm-plan',
        formatVersion: 1,
        revision: 0,
        summary: {},
        changes: [{ action: 'create', kind: 'Sites; DROP', name: 'x', fields: [] }],
      }),
    );
    const result = await rmm('apply', planFile);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('was saved by another version of rmm (plan format 1, this rmm reads 2)');
    await writeFile(planFile, 'not json');
    expect((await rmm('apply', planFile)).stderr).toContain('cannot read the saved plan');
  });

  it('--max-destroy refuses a larger deletion with exit 4, in plan and apply, and changes nothing', async () => {
    await rmm('apply', '-f', repo, '-R', '--auto-approve');
    await rm(path.join(repo, 'devices', 'beta.yaml'));
    const plan = await rmm('plan', '-f', repo, '-R', '--prune', '--max-destroy', '10');
    expect(plan.exitCode).toBe(4);
    expect(plan.stderr).toContain('the plan destroys 50 resources, more than --max-destroy 10 allows');
    const apply = await rmm('apply', '-f', repo, '-R', '--prune', '--max-destroy', '10', '--auto-approve');
    expect(apply.exitCode).toBe(4);
    expect(query<{ n: number }>('SELECT count(*) AS n FROM Devices')[0]?.n).toBe(150);
    expect(
      (await rmm('apply', '-f', repo, '-R', '--prune', '--max-destroy', '50', '--auto-approve')).exitCode,
    ).toBe(0);
  });

  it('waits for another writer up to --lock-timeout, then fails naming the lock (exit 5)', async () => {
    const holder = new Database(db());
    holder.exec('BEGIN IMMEDIATE');
    try {
      const result = await rmm('apply', ...sitesAndRelays(), '--auto-approve', '--lock-timeout', '1');
      expect(result.exitCode).toBe(5);
      expect(result.stderr).toContain('another writer holds the write lock on data/devices.db (waited 1 s)');
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect((await rmm('apply', ...sitesAndRelays(), '--auto-approve')).exitCode).toBe(0);
  });

  it('two applies started together: one wins, the other refuses or finds nothing to do; nothing lost or duplicated', async () => {
    const [a, b] = await Promise.all([
      rmm('apply', '-f', repo, '-R', '--auto-approve', '--actor', 'a'),
      rmm('apply', '-f', repo, '-R', '--auto-approve', '--actor', 'b'),
    ]);
    // Exactly one applies everything. The other either planned before the winner committed (then its
    // plan is stale and refused) or after (then it has nothing to do); it never applies twice.
    const winners = [a, b].filter((r) => r.stdout.includes('Apply complete: 173 added'));
    expect(winners).toHaveLength(1);
    const loser = winners[0] === a ? b : a;
    if (loser.exitCode === 0) expect(loser.stdout).toContain('No changes.');
    else {
      expect(loser.exitCode).toBe(1);
      expect(loser.stderr).toContain('the database changed since this plan was computed');
    }
    expect(query<{ n: number }>('SELECT count(*) AS n FROM Devices')[0]?.n).toBe(150);
    expect(query<{ n: number }>("SELECT count(*) AS n FROM AuditLog WHERE Action LIKE 'apply.%'")[0]?.n).toBe(
      173,
    );
    expect((await rmm('plan', '-f', repo, '-R', '--detailed-exitcode')).exitCode).toBe(0);
  });

  it('export to a path that cannot be a directory fails clearly, exit 1', async () => {
    await rmm('apply', ...sitesAndRelays(), '--auto-approve');
    const blocker = path.join(cwd, 'a-file');
    await writeFile(blocker, 'not a directory');
    const result = await rmm('export', '--dir', path.join(blocker, 'out'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `Error: cannot write the export to ${path.join(blocker, 'out')}: ENOTDIR`,
    );
    expect(result.stderr).not.toContain('bug');
  });

  it('export writes the managed state as YAML that plans to no changes; get shows observed state', async () => {
    await rmm('apply', '-f', repo, '-R', '--auto-approve');
    exec(
      "UPDATE Devices SET Status = 'Online', LastSeen = '2026-11-25 10:00:00' WHERE DeviceId = 'beta-db-02'",
    );
    const out = path.join(cwd, 'exported');
    const exported = await rmm('export', '--dir', out);
    expect(exported.exitCode).toBe(0);
    expect(exported.stderr).toContain('Exported 173 resources');
    const devices = await readFile(path.join(out, 'devices.yaml'), 'utf8');
    expect(devices).not.toMatch(/Status|LastSeen|Online/);
    // The same fields; only the files that declare them moved (recorded owners, docs/apply-sets.md).
    const plan = JSON.parse((await rmm('plan', '-f', out, '--prune', '--json')).stdout) as PlanJson;
    expect(plan.changes).toHaveLength(173);
    for (const change of plan.changes) {
      expect(change).toMatchObject({ action: 'update', fields: [], previousOwner: { set: 'default' } });
      expect(change.source).toMatch(/^exported\/(relays|sites|policies|groups|devices)\.yaml$/);
    }
    expect((await rmm('apply', '-f', out, '--prune', '--auto-approve')).exitCode).toBe(0);
    const again = await rmm('plan', '-f', out, '--detailed-exitcode', '--prune');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe('No changes. The database matches the declared resources.');
    const got = await rmm('get', 'devices', 'beta-db-02');
    expect(got.stdout.split('\n')[1]).toMatch(
      /^beta-db-02\s+beta\s+10\.2\.1\.12\s+linux\s+Online\s+2026-11-25 10:00:00\s+relay-beta\s+yes$/,
    );
    const sites = JSON.parse((await rmm('get', 'sites', '-o', 'json')).stdout) as Array<{
      metadata: { name: string };
      managed: boolean;
    }>;
    expect(sites.map((s) => [s.metadata.name, s.managed])).toEqual([
      ['main', false],
      ['alpha', true],
      ['beta', true],
      ['gamma', true],
    ]);
    expect((await rmm('get', 'devices', 'nope')).exitCode).toBe(1);
  });
});
