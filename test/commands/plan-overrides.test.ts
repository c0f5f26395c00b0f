import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/**
 * Overrides planned alone against what the database holds: a site's file that names monitors of a
 * policy only the database has is checked against that policy's stored monitors (enforced, did you
 * mean), nothing is written when it is refused, and a prune keeps a policy a site still attaches.
 */
let cwd: string;
const rmm = (...args: string[]) => runCli(args, { cwd });

const POLICY = `apiVersion: rmm/v1
kind: Policy
metadata: {name: baseline}
spec:
  monitors:
    - {name: cpu-high, metric: cpu.percent, when: {op: ">", value: 90}, severity: Warning}
    - {name: mem-full, metric: memory.used_percent, when: {op: ">", value: 99}, severity: Critical, enforced: true}
`;
const site = (override: string) => `apiVersion: rmm/v1
kind: Site
metadata: {name: dc1}
spec:
  policies: [baseline]
  overrides:
    - ${override}
`;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-plan-overrides-'));
  await writeFile(path.join(cwd, 'policy.yaml'), POLICY);
  expect((await rmm('init')).exitCode).toBe(0);
  const applied = await rmm('apply', '-f', 'policy.yaml', '--auto-approve');
  expect(applied.exitCode, applied.stderr).toBe(0);
}, 60_000);
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm plan of overrides against stored policies', () => {
  it('accepts an override of a stored policy monitor, and shows the new fields as changes', async () => {
    await writeFile(path.join(cwd, 'site.yaml'), site('{monitor: cpu-high, when: {value: 95}}'));
    const plan = await rmm('plan', '-f', 'site.yaml');
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('+ Site/dc1');
    expect(plan.stdout).toMatch(/policies:.*baseline/);
    expect(plan.stdout).toMatch(/overrides:/);
  });

  it.each([
    [
      '{monitor: mem-full, when: {value: 95}}',
      'site.yaml:7:17: Site/dc1: monitor "mem-full" of policy "baseline" is enforced: no site, group or device may override it',
    ],
    [
      '{monitor: cpu-hihg, severity: Critical}',
      'site.yaml:7:17: Site/dc1: no policy reaching this site (policies: baseline) has a monitor "cpu-hihg"; did you mean "cpu-high"?',
    ],
  ])('refuses %s at its line, writing nothing', async (override, message) => {
    await writeFile(path.join(cwd, 'site.yaml'), site(override));
    const applied = await rmm('apply', '-f', 'site.yaml', '--auto-approve');
    expect(applied.exitCode).toBe(1);
    expect(applied.stdout + applied.stderr).toContain(message);
    const sites = JSON.parse((await rmm('get', 'sites', '-o', 'json')).stdout) as Array<{
      metadata: { name: string };
    }>;
    expect(sites.map((s) => s.metadata.name)).not.toContain('dc1');
  });

  it('a prune that would destroy a policy a kept site attaches is refused', async () => {
    const kept = site('{monitor: cpu-high, when: {value: 95}}');
    await writeFile(path.join(cwd, 'all.yaml'), `${POLICY}---\n${kept}`);
    const both = await rmm('apply', '-f', 'all.yaml', '--auto-approve');
    expect(both.exitCode, both.stderr).toBe(0);
    await writeFile(path.join(cwd, 'all.yaml'), kept);
    const pruned = await rmm('apply', '-f', 'all.yaml', '--auto-approve', '--prune');
    expect(pruned.exitCode).not.toBe(0);
    expect(pruned.stderr).toContain('Site/dc1 (declared in the input) refers to it in policies');
  });
});
