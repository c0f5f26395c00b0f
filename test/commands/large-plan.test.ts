import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/**
 * A plan of more than 500 changes is counted per kind and site in text (piped here, as in CI), listed
 * in full with --full, and always complete in --json and in a saved plan (docs/cli.md#large-plans).
 */
let dir: string;
const rmm = (...args: string[]) => runCli(args, { cwd: dir });
const DEVICES = 600;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-large-plan-'));
  const docs = [
    'apiVersion: rmm/v1\nkind: Site\nmetadata: {name: beta}\nspec: {}\n',
    ...Array.from(
      { length: DEVICES },
      (_, i) =>
        `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: dev-${String(i).padStart(4, '0')}}\nspec: {site: ${i % 3 === 0 ? 'beta' : 'main'}, os: linux, address: 10.0.${i >> 8}.${i & 255}}\n`,
    ),
  ];
  await writeFile(path.join(dir, 'fleet.yaml'), docs.join('---\n'));
  expect((await rmm('init')).exitCode).toBe(0);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('a plan of more than 500 changes', () => {
  it('is counted per kind and site, and --full lists every change', async () => {
    const counted = await rmm('plan', '-f', 'fleet.yaml');
    expect(counted.exitCode, counted.stderr).toBe(0);
    expect(counted.stdout).toContain(
      [
        '601 changes, counted per kind and site (more than 500: --full lists each; --json and --out always hold every change):',
        '  + create Device: 600',
        '      site main: 400',
        '      site beta: 200',
        '  + create Site: 1',
        '',
        'Plan: 601 to add, 0 to change, 0 to destroy.',
      ].join('\n'),
    );
    expect(counted.stdout).not.toContain('Device/dev-0000');
    const full = await rmm('plan', '-f', 'fleet.yaml', '--full');
    expect(full.exitCode).toBe(0);
    for (let i = 0; i < DEVICES; i++)
      expect(full.stdout).toContain(`  + Device/dev-${String(i).padStart(4, '0')}\n`);
    expect(full.stdout).not.toContain('counted per kind and site');
  });

  it('is whole in --json and in a saved plan, which applies every change', async () => {
    const json = await rmm('plan', '-f', 'fleet.yaml', '--json');
    expect(JSON.parse(json.stdout).changes).toHaveLength(DEVICES + 1);
    const saved = await rmm('plan', '-f', 'fleet.yaml', '--out', 'plan.json');
    expect(saved.exitCode, saved.stderr).toBe(0);
    expect(saved.stdout).toContain('601 changes, counted per kind and site');
    expect(JSON.parse(await readFile(path.join(dir, 'plan.json'), 'utf8')).changes).toHaveLength(DEVICES + 1);
    const applied = await rmm('apply', 'plan.json');
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('  + create Device: 600');
    expect(applied.stdout).toContain('Apply complete: 601 added, 0 changed, 0 destroyed.');
    const devices = await rmm('get', 'devices', '-o', 'json');
    expect(JSON.parse(devices.stdout)).toHaveLength(DEVICES);
  });
});
