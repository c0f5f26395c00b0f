import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Config } from '@oclif/core';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTransports, shapeProblem } from '../../src/transports/registry.js';
import { repoRoot, runCli } from '../helpers/cli.js';

/**
 * Plugins are installed the way a user installs them (`rmm plugins install`, from a packed npm
 * tarball) into a throwaway oclif data directory; the built-in SSH transport comes through the same
 * hook as theirs.
 */
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'plugins');
let dir: string;
let env: Record<string, string>;
const rmm = (...args: string[]) => runCli(args, { cwd: dir, env });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-plugins-'));
  env = {
    XDG_DATA_HOME: path.join(dir, 'data'),
    XDG_CACHE_HOME: path.join(dir, 'cache'),
    XDG_CONFIG_HOME: path.join(dir, 'config'),
  };
  for (const fixture of ['local-transport', 'bad-transport']) {
    const { stdout } = await execa('npm', ['pack', path.join(fixtures, fixture), '--pack-destination', dir], {
      cwd: dir,
    });
    const tarball = path.join(dir, stdout.trim().split('\n').at(-1) as string);
    const installed = await rmm('plugins', 'install', `file:${tarball}`);
    expect(installed.exitCode, installed.stderr).toBe(0);
  }
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('transport plugins', () => {
  it('lists the built-in and the installed transports, and refuses a malformed one by name', async () => {
    const result = await rmm('transports', '--json');
    expect(result.exitCode).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.transports.map((t: { name: string; plugin: string }) => [t.name, t.plugin])).toEqual([
      ['local', 'rmm-transport-local'],
      ['relay', '@rmm/transport-relay'],
      ['smb', '@rmm/transport-smb'],
      ['ssh', '@rmm/transport-ssh'],
      ['winrm', '@rmm/transport-winrm'],
    ]);
    expect(json.refused).toEqual([
      'plugin rmm-transport-bad: transport "Bad Name": name must be lowercase letters, digits and dashes, starting with a letter',
    ]);
    const human = await rmm('transports');
    expect(human.exitCode).toBe(0);
    expect(human.stderr).toContain('Refused: plugin rmm-transport-bad');
    expect(human.stdout).toContain('ssh      port 22    batch 200');
  });

  it('an installed third-party transport runs an action through rmm exec', async () => {
    expect((await rmm('init')).exitCode).toBe(0);
    await writeFile(
      path.join(dir, 'here.yaml'),
      'apiVersion: rmm/v1\nkind: Device\nmetadata: {name: here}\nspec: {site: main, os: linux, transport: {type: local}}\n',
    );
    expect((await rmm('apply', '-f', 'here.yaml', '--auto-approve')).exitCode).toBe(0);
    const result = await rmm('exec', '-t', 'name=here', '--json', '--', 'echo "through the plugin"; exit 0');
    expect(result.exitCode, result.stderr).toBe(0);
    const events = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.find((e) => e.status === 'Succeeded')).toMatchObject({
      device: 'here',
      exitCode: 0,
      stdout: 'through the plugin\n',
    });
    // A typo in its options is caught by validate, against the plugin's own schema.
    await writeFile(
      path.join(dir, 'typo.yaml'),
      'apiVersion: rmm/v1\nkind: Device\nmetadata: {name: typo}\nspec: {site: main, transport: {type: local, shel: /bin/sh}}\n',
    );
    const invalid = await rmm('validate', '-f', 'typo.yaml');
    expect(invalid.exitCode).toBe(1);
    expect(invalid.stdout).toContain(
      'typo.yaml:4:45: Device/typo: unknown field "shel"; did you mean "shell"?',
    );
  });

  it('an installed third-party transport runs a command', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const config = await Config.load({ root: repoRoot });
      const { transports } = await loadTransports(config);
      const local = transports.get('local')?.transport;
      if (!local) throw new Error('the local transport did not load');
      const session = await local.connect(
        { name: 'here', host: 'localhost', os: 'linux', options: {} },
        { connectTimeoutMs: 1000 },
      );
      const result = await session.exec('printf "%s" "$(cat)"; exit 3', { stdin: 'from stdin' });
      expect({ ...result, stdout: result.stdout.toString() }).toMatchObject({
        exitCode: 3,
        stdout: 'from stdin',
      });
      await session.close();
    } finally {
      process.env = saved;
    }
  });
});

describe('the shape a transport must have', () => {
  const good = {
    apiVersion: 1,
    name: 'x',
    description: '',
    optionsSchema: { type: 'object' },
    defaultPort: 1,
    batchSize: 1,
    capabilities: { powershell: false, fileTransfer: false, queued: false },
    connect: async () => ({}),
  };
  it.each([
    [null, 'is not an object'],
    [{ ...good, apiVersion: 2 }, 'is built for plugin API version 2; this rmm speaks version 1'],
    [{ ...good, name: 'SSH' }, 'name must be lowercase letters'],
    [{ ...good, connect: undefined }, 'connect is not a function'],
    [{ ...good, defaultPort: 70000 }, 'defaultPort must be a port number'],
    [{ ...good, batchSize: 0 }, 'batchSize must be a positive integer'],
    [{ ...good, capabilities: { powershell: 'yes' } }, 'capabilities must say'],
    [{ ...good, optionsSchema: { type: 'nonsense' } }, 'optionsSchema does not compile'],
    [{ ...good, hostKeys: { scan: async () => ({}) } }, 'hostKeys, when given, must have scan and record'],
    [{ ...good, checkOptions: [] }, 'checkOptions, when given, must be a function'],
    [
      { ...good, capabilities: { powershell: false, fileTransfer: false, queued: true } },
      'a queued transport must have queue.open',
    ],
    [
      {
        ...good,
        capabilities: { powershell: false, fileTransfer: false, queued: true },
        queue: { open: async () => ({}), routes: 'site' },
      },
      "queue.routes must be 'device' or 'declared'",
    ],
  ])('refuses %j: %s', (candidate, message) => {
    expect(shapeProblem(candidate)).toContain(message);
  });
  it('accepts a well-formed one, with or without the optional hostKeys and checkOptions', () => {
    expect(shapeProblem(good)).toBeUndefined();
    const hostKeys = { scan: async () => ({}), record: async () => {} };
    expect(shapeProblem({ ...good, hostKeys })).toBeUndefined();
    expect(shapeProblem({ ...good, checkOptions: () => [] })).toBeUndefined();
  });
});
