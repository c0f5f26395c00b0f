import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';

/** -o is the output format in every command; files and folders have flags of their own. */
let cwd: string;
let repo: string;
const rmm = (...args: string[]) => runCli(args, { cwd });

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-output-'));
  repo = path.join(cwd, 'repo');
  await copyExamples(repo);
  expect((await rmm('init')).exitCode).toBe(0);
  expect(
    (await rmm('apply', '-f', path.join(repo, 'relays'), '-f', path.join(repo, 'sites'), '--auto-approve'))
      .exitCode,
  ).toBe(0);
}, 60_000);
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

/** What the working folder holds besides what beforeAll made: a misused flag must write nothing. */
const stray = async () => (await readdir(cwd)).filter((f) => !['data', 'repo'].includes(f)).sort();

describe('-o/--output', () => {
  it('rmm plan -o json prints the plan as JSON, as --json does, and writes no file', async () => {
    const byOutput = await rmm(
      'plan',
      '-f',
      path.join(repo, 'relays'),
      '-f',
      path.join(repo, 'sites'),
      '-o',
      'json',
    );
    const byJson = await rmm(
      'plan',
      '-f',
      path.join(repo, 'relays'),
      '-f',
      path.join(repo, 'sites'),
      '--json',
    );
    expect(byOutput.exitCode).toBe(0);
    expect(JSON.parse(byOutput.stdout)).toEqual(JSON.parse(byJson.stdout));
    expect(JSON.parse(byOutput.stdout).summary).toEqual({ add: 0, change: 0, destroy: 0 });
    expect(await stray()).toEqual([]);
  });

  it('rmm plan -o FILE is refused with exit 64, names --out, and writes nothing', async () => {
    const result = await rmm(
      'plan',
      '-f',
      path.join(repo, 'relays'),
      '-f',
      path.join(repo, 'sites'),
      '-o',
      'plan.json',
    );
    expect(result.exitCode).toBe(64);
    expect(result.stderr).toContain('Expected --output=plan.json to be one of: text, json');
    expect(result.stderr).toContain('-o is the output format; a plan is saved with --out FILE');
    expect(result.stdout).toBe('');
    expect(await stray()).toEqual([]);
  });

  it('rmm plan --out FILE saves the plan (no short form)', async () => {
    const result = await rmm(
      'plan',
      '-f',
      path.join(repo, 'relays'),
      '-f',
      path.join(repo, 'sites'),
      '--out',
      path.join(cwd, 'saved.json'),
    );
    expect(result.exitCode).toBe(0);
    expect(await stray()).toEqual(['saved.json']);
    await rm(path.join(cwd, 'saved.json'));
  });

  it('rmm export and rmm schema export take their folder as --dir; -o is refused there, writing nothing', async () => {
    for (const args of [
      ['export', '-o', 'fleet'],
      ['schema', 'export', '-o', 'json'],
    ]) {
      const result = await rmm(...args);
      expect(result.exitCode, args.join(' ')).toBe(64);
      expect(result.stderr, args.join(' ')).toContain('Nonexistent flag: -o');
      expect(await stray(), args.join(' ')).toEqual([]);
    }
    const exported = await rmm('export', '--dir', 'fleet');
    expect(exported.exitCode).toBe(0);
    expect(await readdir(path.join(cwd, 'fleet'))).toEqual(['relays.yaml', 'sites.yaml']);
    const schemas = await rmm('schema', 'export', '--dir', 'editor-schemas');
    expect(schemas.exitCode).toBe(0);
    expect(await readdir(path.join(cwd, 'editor-schemas'))).toContain('device.schema.json');
    await rm(path.join(cwd, 'fleet'), { recursive: true });
    await rm(path.join(cwd, 'editor-schemas'), { recursive: true });
  });

  it('rmm schema export into a folder it cannot make fails clearly, exit 1, not as a bug', async () => {
    const blocker = path.join(cwd, 'data', 'devices.db');
    const result = await rmm('schema', 'export', '--dir', path.join(blocker, 'schemas'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `Error: cannot write the schemas to ${path.join(blocker, 'schemas')}: ENOTDIR`,
    );
    expect(result.stderr).not.toContain('bug');
  });

  it('rmm get, actions list and actions show take --json as -o json; the two together are refused', async () => {
    const byOutput = await rmm('get', 'sites', '-o', 'json');
    const byJson = await rmm('get', 'sites', '--json');
    expect(byJson.exitCode).toBe(0);
    expect(JSON.parse(byJson.stdout)).toEqual(JSON.parse(byOutput.stdout));
    expect((await rmm('actions', 'list', '--json')).stdout).toBe('[]');
    const both = await rmm('get', 'sites', '-o', 'yaml', '--json');
    expect(both.exitCode).toBe(64);
    expect(both.stderr).toContain('--json=true cannot also be provided when using --output');
  });
});
