import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';

// Every way a data directory can be unusable gets its own message and exit 7 (docs/cli.md), never
// "This is a bug in rmm", never advice to run an rmm init that would fail the same way, and changes
// nothing. Permission cases run the CLI as a user permission bits stop (nobody, when tests run as root).

const DATA_DIR = 7;
let root: string;
/** The examples, copied under root: the clone may be out of nobody's reach (CI clones under /root). */
const examples = 'examples';
/** Paths as rmm shows them: relative to its working directory, root. */
const shown = (p: string) => path.relative(root, p);

/** Each command that touches the data directory, as a user would type it. */
const COMMANDS: Record<string, string[]> = {
  init: ['init'],
  plan: ['plan', '-f', examples, '-R'],
  apply: ['apply', '-f', examples, '-R', '--auto-approve'],
  get: ['get', 'devices'],
  export: ['export', '--dir', 'exported'],
  'db plan': ['db', 'plan'],
  'db apply': ['db', 'apply'],
  exec: ['exec', '-t', 'name=alpha-web-01'],
  'actions run': ['actions', 'run'],
  'actions list': ['actions', 'list'],
  'actions show': ['actions', 'show', 'abc'],
  'actions cancel': ['actions', 'cancel', 'abc'],
  'inventory collect': ['inventory', 'collect', '-t', 'name=alpha-web-01'],
};
const SOME = ['init', 'plan', 'get', 'db plan', 'actions run'] as const;

function rmm(name: string, dataDir: string, options: { unprivileged?: boolean } = {}): Promise<CliResult> {
  const args = [...(COMMANDS[name] as string[]), '--data-dir', dataDir];
  // exec's command follows --, after every flag.
  if (name === 'exec') args.push('--', 'true');
  return runCli(args, { cwd: root, ...options });
}

function expectDataDirError(result: CliResult, name: string, message: string): void {
  expect({ name, exitCode: result.exitCode, stdout: result.stdout }).toEqual({
    name,
    exitCode: DATA_DIR,
    stdout: '',
  });
  expect(result.stderr).toContain(`Error: ${message}`);
  expect(result.stderr).not.toMatch(/bug|create it with: rmm init/);
}

/** A folder of its own under root, reachable by the unprivileged user. */
async function folder(name: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'rmm-data-dir-'));
  await chmod(root, 0o755);
  await copyExamples(path.join(root, examples));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('a data directory that cannot be used', () => {
  it('is a file: every command says so, exit 7, and the file is untouched', async () => {
    const file = path.join(await folder('file'), 'data');
    await writeFile(file, 'a note\n');
    for (const name of Object.keys(COMMANDS)) {
      expectDataDirError(
        await rmm(name, file),
        name,
        `the data directory ${shown(file)} is not a directory: it is a file`,
      );
    }
    expect(await readFile(file, 'utf8')).toBe('a note\n');
    expect(await readdir(path.dirname(file))).toEqual(['data']);
  });

  it('lies under a file: the file is named', async () => {
    const file = path.join(await folder('under-file'), 'note');
    await writeFile(file, 'a note\n');
    for (const name of SOME) {
      expectDataDirError(
        await rmm(name, path.join(file, 'data')),
        name,
        `the data directory ${shown(path.join(file, 'data'))} is not a directory: ${shown(file)} is a file`,
      );
    }
  });

  it('holds a directory named devices.db', async () => {
    const dataDir = path.join(await folder('db-is-dir'), 'data');
    await mkdir(path.join(dataDir, 'devices.db'), { recursive: true });
    for (const name of SOME) {
      expectDataDirError(
        await rmm(name, dataDir),
        name,
        `${shown(path.join(dataDir, 'devices.db'))} is a directory, not a database file`,
      );
    }
    expect(await readdir(path.join(dataDir, 'devices.db'))).toEqual([]);
  });

  it('holds a devices.db that is not SQLite: nothing writes to it', async () => {
    const dataDir = await folder('not-sqlite');
    const file = path.join(dataDir, 'devices.db');
    await writeFile(file, 'name,site\nalpha-web-01,alpha\n');
    for (const name of Object.keys(COMMANDS)) {
      expectDataDirError(await rmm(name, dataDir), name, `${shown(file)} is not an SQLite database`);
    }
    expect(await readFile(file, 'utf8')).toBe('name,site\nalpha-web-01,alpha\n');
    expect((await readdir(dataDir)).sort()).toEqual(['devices.db']);
  });
});

describe('permissions (as a user they stop)', () => {
  it('a data directory whose parent is not writable: init cannot create it, and plan does not advise init', async () => {
    const parent = await folder('read-only-parent');
    await chmod(parent, 0o555);
    const dataDir = path.join(parent, 'data');
    const init = await rmm('init', dataDir, { unprivileged: true });
    expectDataDirError(
      init,
      'init',
      `cannot create the data directory ${shown(dataDir)}: ${shown(parent)} is not writable for user`,
    );
    for (const name of ['plan', 'get', 'db plan', 'actions run']) {
      const result = await rmm(name, dataDir, { unprivileged: true });
      expectDataDirError(
        result,
        name,
        `no database at ${shown(path.join(dataDir, 'devices.db'))}, and rmm init cannot create it there`,
      );
      expect(result.stderr).toContain(`${shown(parent)} is not writable for user`);
    }
    expect(await readdir(parent)).toEqual([]);
  });

  it('an unreadable devices.db: every reader says so, with its owner and mode', async () => {
    const dataDir = await folder('unreadable');
    expect((await runCli(['init', '--data-dir', dataDir], { cwd: root })).exitCode).toBe(0);
    const file = path.join(dataDir, 'devices.db');
    const before = await readFile(file);
    await chmod(file, 0o000);
    for (const name of SOME) {
      const result = await rmm(name, dataDir, { unprivileged: true });
      expectDataDirError(result, name, `cannot read ${shown(file)}: permission denied for user`);
      expect(result.stderr).toContain('with mode 0000');
    }
    await chmod(file, 0o644);
    expect((await readFile(file)).equals(before)).toBe(true);
  });

  it('a data directory that cannot be entered', async () => {
    const dataDir = await folder('no-search');
    expect((await runCli(['init', '--data-dir', dataDir], { cwd: root })).exitCode).toBe(0);
    await chmod(dataDir, 0o644);
    for (const name of SOME) {
      expectDataDirError(
        await rmm(name, dataDir, { unprivileged: true }),
        name,
        `cannot reach the data directory ${shown(dataDir)}: permission denied for user`,
      );
    }
    await chmod(dataDir, 0o755);
  });

  it('a usable data directory still works for that user (the checks refuse only what fails)', async () => {
    const dataDir = path.join(await folder('usable'), 'data');
    await chmod(path.dirname(dataDir), 0o777);
    const init = await rmm('init', dataDir, { unprivileged: true });
    expect(init.exitCode).toBe(0);
    const get = await rmm('get', dataDir, { unprivileged: true });
    expect(get).toEqual({
      exitCode: 0,
      stdout: 'NAME  SITE  ADDRESS  OS  STATUS  LAST SEEN  VIA  MANAGED',
      stderr: '',
    });
  });
});

describe('other paths', () => {
  it('rmm apply with a saved plan that does not exist is an input error, not a bug', async () => {
    const dataDir = await folder('saved-plan');
    expect((await runCli(['init', '--data-dir', dataDir], { cwd: root })).exitCode).toBe(0);
    const result = await runCli(['apply', 'missing-plan.json', '--data-dir', dataDir], { cwd: root });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Error: cannot read the saved plan missing-plan.json');
    expect(result.stderr).not.toContain('bug');
  });
});
