import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SavedPlan, signedPlanText } from '../../src/engine/saved-plan.js';
import { readPlanKey } from '../../src/state/plan-key.js';
import { runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';
import { execFile, queryFile } from '../helpers/sqlite.js';

/**
 * A saved plan is an artifact passed between CI jobs, so its file is input like YAML (issue 10,
 * item 1): an edited plan is refused, and even a plan that passes the integrity check is applied
 * only as its desired states and the stored rows call for, with every check YAML gets.
 */
let cwd: string;
let repo: string;
let planFile: string;
const dataDir = () => path.join(cwd, 'data');
const db = () => path.join(dataDir(), 'devices.db');
const rmm = (...args: string[]) => runCli(args, { cwd });
const query = <T>(sql: string, ...params: unknown[]): T[] => queryFile<T>(db(), sql, ...params);
const digest = async () =>
  createHash('sha256')
    .update(await readFile(db()))
    .digest('hex');
const readPlan = async () => JSON.parse(await readFile(planFile, 'utf8')) as SavedPlan;
/** What someone holding the console's key could write: the file edited, then signed again. */
const resign = async (edit: (plan: SavedPlan) => void) => {
  const plan = await readPlan();
  edit(plan);
  await writeFile(planFile, signedPlanText(plan, readPlanKey(dataDir()) as Buffer));
};

beforeEach(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-saved-'));
  repo = path.join(cwd, 'repo');
  planFile = path.join(cwd, 'plan.json');
  await copyExamples(repo);
  expect((await rmm('init')).exitCode).toBe(0);
  expect((await rmm('apply', '-f', 'repo', '-R', '--auto-approve')).exitCode).toBe(0);
  // One reviewed change: a device's tags.
  const file = path.join(repo, 'devices', 'alpha.yaml');
  await writeFile(
    file,
    (await readFile(file, 'utf8')).replace('tags: [prod, web]', 'tags: [prod, web, edge]'),
  );
  const saved = await rmm('plan', '-f', 'repo', '-R', '--prune', '--out', planFile);
  expect(saved.exitCode, saved.stderr).toBe(0);
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('a saved plan', () => {
  it('carries an integrity code under a key only the console holds (mode 0600)', async () => {
    expect((await readPlan()).integrity).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect((await stat(path.join(dataDir(), 'plan.key'))).mode & 0o777).toBe(0o600);
  });

  it('edited after it was saved is refused, and nothing changes', async () => {
    const before = await digest();
    const plan = await readPlan();
    const change = plan.changes[0] as SavedPlan['changes'][number];
    const desired = change.desired as Record<string, unknown>;
    desired.site = 'nowhere';
    desired.transport = { type: 'ssh', credentialRef: 'file:/root/.ssh/id_ed25519' };
    plan.changes.push({ action: 'delete', kind: 'Site', name: 'main', fields: [] });
    await writeFile(planFile, JSON.stringify(plan, null, 2));
    const result = await rmm('apply', planFile);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'was changed after `rmm plan` saved it, or was saved by another console; nothing was applied',
    );
    expect(await digest()).toBe(before);
  });

  it("is derived again before it is applied: what its desired states don't call for is refused", async () => {
    const before = await digest();
    await resign((plan) => {
      const desired = (plan.changes[0] as SavedPlan['changes'][number]).desired as Record<string, unknown>;
      desired.site = 'nowhere';
      plan.changes.push({ action: 'delete', kind: 'Site', name: 'main', fields: [] });
      plan.changes.push({ action: 'delete', kind: 'Device', name: 'beta-db-01', fields: [] });
      plan.summary = { add: 0, change: 1, destroy: 0 };
    });
    const result = await rmm('apply', planFile);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('cannot be applied as it is; nothing was applied');
    expect(result.stderr).toContain(
      '- Device/alpha-web-01: site "nowhere" is not declared in the input nor in the database',
    );
    expect(result.stderr).toContain(
      '- Device/alpha-web-01: the fields shown are not what its desired state changes',
    );
    expect(result.stderr).toContain('- Site/main: is the default site, which rmm never destroys');
    expect(result.stderr).toContain('- Device/beta-db-01: the fields shown are not the ones it holds');
    expect(await digest()).toBe(before);
  });

  it('refuses a delete that plan would not make: without --prune, or of another set, or of a row rmm did not create', async () => {
    await rmm('plan', '-f', 'repo', '-R', '--out', planFile);
    execFile(db(), "INSERT INTO Devices (DeviceId, Hostname) VALUES ('hand-made', 'hand-made')");
    await resign((plan) => {
      plan.changes.push({ action: 'delete', kind: 'Device', name: 'beta-db-01', fields: [] });
      plan.changes.push({ action: 'delete', kind: 'Device', name: 'hand-made', fields: [] });
    });
    const result = await rmm('apply', planFile);
    expect(result.stderr).toContain(
      '- Device/beta-db-01: would be destroyed, but the plan was not made with --prune',
    );
    expect(result.stderr).toContain(
      '- Device/hand-made: was not created by rmm, which never destroys such rows',
    );
  });

  it('refuses an inline secret in a desired state, as YAML is refused', async () => {
    await resign((plan) => {
      const desired = (plan.changes[0] as SavedPlan['changes'][number]).desired as Record<string, unknown>;
      desired.customFields = { password: 'hunter2' };
    });
    const result = await rmm('apply', planFile);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('looks like an inline secret');
    expect(result.stderr).not.toContain('hunter2');
  });

  it('applies what it derives, counts and audits that, not what the file claims', async () => {
    await rm(path.join(repo, 'devices', 'beta.yaml'));
    await rmm('plan', '-f', 'repo', '-R', '--prune', '--out', planFile);
    await resign((plan) => {
      plan.summary = { add: 0, change: 0, destroy: 0 };
    });
    const result = await rmm('apply', planFile);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('Apply complete: 0 added, 1 changed, 50 destroyed.');
    expect(
      query<{ n: number }>("SELECT count(*) AS n FROM AuditLog WHERE Action LIKE 'apply.delete %'")[0]?.n,
    ).toBe(50);
    expect(query<{ Tags: string }>("SELECT Tags FROM Devices WHERE DeviceId = 'alpha-web-01'")).toEqual([
      { Tags: '["prod","web","edge"]' },
    ]);
  });

  it('made on another console (another key) is refused', async () => {
    await rm(path.join(dataDir(), 'plan.key'));
    await rmm('plan', '-f', 'repo', '-R', '--out', path.join(cwd, 'other.json'));
    const result = await rmm('apply', planFile);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('or was saved by another console');
  });
});
