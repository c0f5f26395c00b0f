import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';
import { queryFile } from '../helpers/sqlite.js';

/**
 * A repository split in files, applied a file or a folder at a time (issue 10, item 0): references
 * resolve against what the database holds, and --prune only removes what the files given declared,
 * as members of the apply set being applied (docs/apply-sets.md).
 */
let cwd: string;
let repo: string;
const db = () => path.join(cwd, 'data', 'devices.db');
const rmm = (...args: string[]) => runCli(args, { cwd });
const query = <T>(sql: string, ...params: unknown[]): T[] => queryFile<T>(db(), sql, ...params);
const count = (table: string) => query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)[0]?.n;
const file = (...parts: string[]) => path.join('repo', ...parts);

/** Removes the document of `name` from a multi-document file. */
async function removeDocument(relative: string, name: string): Promise<void> {
  const full = path.join(cwd, relative);
  const docs = (await readFile(full, 'utf8')).split(/^---$/m);
  const kept = docs.filter((d) => !d.includes(`name: ${name}\n`));
  expect(kept.length).toBe(docs.length - 1);
  await writeFile(full, kept.join('---'));
}

beforeEach(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-sets-'));
  repo = path.join(cwd, 'repo');
  await copyExamples(repo);
  expect((await rmm('init')).exitCode).toBe(0);
  expect((await rmm('apply', '-f', 'repo', '-R', '--auto-approve')).exitCode).toBe(0);
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('a repository applied a file at a time', () => {
  it('one file plans alone: its references resolve against the database', async () => {
    const plan = await rmm('plan', '-f', file('devices', 'alpha.yaml'), '--detailed-exitcode');
    expect(plan.stderr).toBe('');
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toBe('No changes. The database matches the declared resources.');
  });

  it("one site's file with --prune destroys nothing that other files applied", async () => {
    const plan = await rmm('plan', '-f', file('sites', 'alpha.yaml'), '--prune', '--json');
    expect(plan.exitCode).toBe(0);
    const json = JSON.parse(plan.stdout);
    expect(json.summary).toEqual({ add: 0, change: 0, destroy: 0 });
    expect(json.scope).toEqual({
      set: 'default',
      prune: [{ key: 'repo/sites/alpha.yaml', folder: false, recursive: false }],
    });
    const applied = await rmm('apply', '-f', file('sites'), '--prune', '--auto-approve');
    expect(applied.stdout).toContain('No changes.');
    expect(count('Devices')).toBe(150);
  });

  it('a device removed from its file is pruned by that file, and only it', async () => {
    await removeDocument(file('devices', 'alpha.yaml'), 'alpha-web-01');
    const plan = await rmm('plan', '-f', file('devices', 'alpha.yaml'), '--prune');
    expect(plan.stdout).toContain('Apply set "default"; prune scope: repo/devices/alpha.yaml');
    expect(plan.stdout).toContain('  - Device/alpha-web-01');
    expect(plan.stdout).toContain('Plan: 0 to add, 0 to change, 1 to destroy.');
    expect(
      (await rmm('apply', '-f', file('devices', 'alpha.yaml'), '--prune', '--auto-approve')).exitCode,
    ).toBe(0);
    expect(count('Devices')).toBe(149);
    const audit = query<{ Details: string }>(
      "SELECT Details FROM AuditLog WHERE Action = 'apply.delete Device/alpha-web-01'",
    );
    expect(JSON.parse(audit[0]?.Details ?? '{}')).toMatchObject({ applySet: 'default' });
  });

  it('a resource moved to another file changes owner, shown in the plan', async () => {
    const alpha = await readFile(path.join(repo, 'devices', 'alpha.yaml'), 'utf8');
    const first = alpha.split(/^---$/m)[0] as string;
    await removeDocument(file('devices', 'alpha.yaml'), 'alpha-web-01');
    await writeFile(path.join(repo, 'devices', 'moved.yaml'), first);
    const plan = await rmm('plan', '-f', file('devices'), '--prune');
    expect(plan.stdout).toContain(
      '  ~ Device/alpha-web-01 (moves from repo/devices/alpha.yaml to repo/devices/moved.yaml)',
    );
    expect(plan.stdout).toContain('Plan: 0 to add, 1 to change, 0 to destroy.');
  });

  it('a group re-scoped while devices only the database holds are still in it is refused at its line', async () => {
    const groups = path.join(repo, 'groups', 'groups.yaml');
    const text = await readFile(groups, 'utf8');
    const at = text.indexOf('site: alpha', text.indexOf('name: alpha-web'));
    await writeFile(groups, `${text.slice(0, at)}site: beta${text.slice(at + 'site: alpha'.length)}`);
    const result = await rmm('plan', '-f', file('groups'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /repo\/groups\/groups\.yaml:\d+:\d+: DeviceGroup\/alpha-web: device "alpha-web-\d+" in the database is in this group and in site "alpha", so the group cannot be scoped to "beta" \(and \d+ more devices outside that site\)/,
    );
    // Declared together with its devices, moved to beta too, the same change is fine.
    const devices = path.join(repo, 'devices', 'alpha.yaml');
    await writeFile(devices, (await readFile(devices, 'utf8')).replaceAll('site: alpha', 'site: beta'));
    const together = await rmm('plan', '-f', file('groups'), '-f', file('devices', 'alpha.yaml'));
    expect(together.stderr).not.toContain('cannot be scoped');
  });

  it('prune refuses to destroy a site that devices it keeps still name', async () => {
    await rm(path.join(repo, 'sites', 'gamma.yaml'));
    const before = count('Sites');
    const result = await rmm('apply', '-f', file('sites'), '--prune', '--auto-approve');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('--prune would destroy a resource that kept resources still refer to');
    expect(result.stderr).toContain(
      '- Site/gamma: Device/gamma-db-01 (in the database, outside this prune) refers to it in site',
    );
    expect(count('Sites')).toBe(before);
    // Pruned together with its devices and groups, it goes.
    await rm(path.join(repo, 'devices', 'gamma.yaml'));
    await removeDocument(file('groups', 'groups.yaml'), 'gamma-web');
    await removeDocument(file('groups', 'groups.yaml'), 'gamma-db');
    const together = await rmm('plan', '-f', 'repo', '-R', '--prune');
    expect(together.exitCode).toBe(0);
    expect(together.stdout).toContain('  - Site/gamma');
    expect(together.stdout).toContain('Plan: 0 to add, 0 to change, 53 to destroy.');
  });

  it('a resource another apply set owns is refused (exit 3) unless --take-over, and never pruned by this set', async () => {
    const taken = await rmm(
      'apply',
      '-f',
      file('sites', 'alpha.yaml'),
      '--apply-set',
      'team-a',
      '--auto-approve',
    );
    expect(taken.exitCode).toBe(3);
    expect(taken.stderr).toContain('1 declared resource is owned by another apply set; nothing was changed');
    expect(taken.stderr).toContain('- Site/alpha: owned by apply set "default" (from repo/sites/alpha.yaml)');
    const moved = await rmm(
      'apply',
      '-f',
      file('sites', 'alpha.yaml'),
      '--apply-set',
      'team-a',
      '--take-over',
      '--auto-approve',
    );
    expect(moved.stdout).toContain(
      '~ Site/alpha (taken over from apply set "default", repo/sites/alpha.yaml)',
    );
    expect(
      query('SELECT ApplySet, SourceFile FROM ManagedResources WHERE Kind = ? AND Name = ?', 'Site', 'alpha'),
    ).toEqual([{ ApplySet: 'team-a', SourceFile: 'repo/sites/alpha.yaml' }]);
    // The default set no longer owns it: declaring it is refused, and without it nothing of team-a is pruned.
    expect((await rmm('plan', '-f', 'repo', '-R')).exitCode).toBe(3);
    await rm(path.join(repo, 'sites', 'alpha.yaml'));
    const plan = await rmm('plan', '-f', 'repo', '-R', '--prune', '--json');
    expect(JSON.parse(plan.stdout).summary.destroy).toBe(0);
  });

  it('the apply set can come from RMM_APPLY_SET, and a bad name is a usage error', async () => {
    const env = { RMM_APPLY_SET: 'Bad Name' };
    const bad = await runCli(['plan', '-f', file('sites')], { cwd, env });
    expect(bad.exitCode).toBe(64);
    expect(bad.stderr).toContain('RMM_APPLY_SET "Bad Name" is not an apply set name');
  });
});

describe('one mistake, one error', () => {
  it('an invalid field in a site is one error, not one more per device of that site', async () => {
    const site = path.join(repo, 'sites', 'alpha.yaml');
    await writeFile(site, (await readFile(site, 'utf8')).replace('America/Chicago', 'Mars/Olympus'));
    await rm(path.join(cwd, 'data'), { recursive: true });
    const result = await rmm('validate', '-f', 'repo', '-R');
    expect(result.exitCode).toBe(1);
    const errors = result.stdout.split('\n').filter((l) => /:\d+:\d+: /.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^repo\/sites\/alpha\.yaml:\d+:\d+: Site\/alpha: .*time zone/);
  });
});
