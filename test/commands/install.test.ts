import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

/** The README's ways to get an `rmm` command, done as written (offline: the clone is the package). */
let prefix: string;
let elsewhere: string;
const npm = (args: string[], cwd = repoRoot) =>
  execa('npm', [...args, '--offline', '--no-audit', '--no-fund'], { cwd, reject: false, timeout: 120_000 });

beforeAll(async () => {
  prefix = await mkdtemp(path.join(os.tmpdir(), 'rmm-prefix-'));
  elsewhere = await mkdtemp(path.join(os.tmpdir(), 'rmm-elsewhere-'));
});
afterAll(async () => {
  await rm(prefix, { recursive: true, force: true });
  await rm(elsewhere, { recursive: true, force: true });
});

describe('an rmm command on PATH', () => {
  it('npm install -g . puts rmm on PATH; it runs from any folder, with the bundled transport plugins', async () => {
    // --prefix stands for the global folder; --ignore-scripts: the clone is already built.
    const installed = await npm(['install', '-g', '.', '--prefix', prefix, '--ignore-scripts']);
    expect(installed.stderr).not.toMatch(/ERR!/);
    expect(installed.exitCode).toBe(0);
    const env = {
      PATH: `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH}`,
      NODE_ENV: undefined,
    };
    const run = (...args: string[]) =>
      execa('rmm', args, { cwd: elsewhere, env, extendEnv: true, reject: false, timeout: 60_000 });
    const version = await run('--version');
    expect(version.exitCode).toBe(0);
    expect(version.stdout).toMatch(/^rmm\/\d+\.\d+\.\d+ /);
    const transports = await run('transports', '--json');
    expect(
      JSON.parse(transports.stdout)
        .transports.map((t: { name: string }) => t.name)
        .sort(),
    ).toEqual(['relay', 'smb', 'ssh', 'winrm']);
    expect((await run('init')).exitCode).toBe(0); // schemas/database.yaml found through the link
  });

  it('npx rmm runs it from inside the clone without installing', async () => {
    const result = await execa('npx', ['--offline', '--no-install', 'rmm', '--version'], {
      cwd: repoRoot,
      env: { NODE_ENV: undefined },
      reject: false,
      timeout: 60_000,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^rmm\/\d+\.\d+\.\d+ /);
  });

  it('the package (npm pack) holds what the bin needs at run time', async () => {
    const packed = await npm(['pack', '--dry-run', '--json', '--ignore-scripts']);
    expect(packed.exitCode).toBe(0);
    const files = new Set((JSON.parse(packed.stdout)[0].files as Array<{ path: string }>).map((f) => f.path));
    for (const file of [
      'bin/run.js',
      'oclif.manifest.json',
      'dist/plugin/index.js',
      'dist/commands/plan.js',
      'dist/commands/apply.js',
      'schemas/database.yaml',
      'schemas/device.schema.json',
      'collectors/windows/inventory.ps1',
    ])
      expect(files, file).toContain(file);
    // Every compiled command is in it, and no test or TypeScript source.
    const commands = [...files].filter((f) => f.startsWith('dist/commands/') && f.endsWith('.js'));
    expect(commands.length).toBeGreaterThanOrEqual(16);
    expect([...files].filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
    // Every file package.json exports is in it (a plugin imports rmm/plugin).
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8'));
    for (const target of Object.values(pkg.exports as Record<string, string>))
      expect(files, target).toContain(target.replace(/^\.\//, ''));
  });
});
