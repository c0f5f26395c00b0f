import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';

// Issue 11, the data directory: it holds command output, the audit trail and the inventory, so what
// rmm makes there is private (0700 folders, 0600 files), a looser one is reported to its owner in one
// line, and a linked cache folder is never followed: not read, not written, not cleaned.

let root: string;
const examples = 'examples';
const shown = (p: string) => path.relative(root, p);
const modeOf = async (p: string) => ((await stat(p)).mode & 0o777).toString(8);

function rmm(args: string[], dataDir: string): Promise<CliResult> {
  const end = args.includes('--') ? args.indexOf('--') : args.length;
  return runCli([...args.slice(0, end), '--data-dir', dataDir, ...args.slice(end)], { cwd: root });
}

/** Every command that opens the data directory, as a user would type them. */
const COMMANDS: string[][] = [
  ['init'],
  ['validate', '-f', examples, '-R'],
  ['plan', '-f', examples, '-R'],
  ['apply', '-f', examples, '-R', '--auto-approve'],
  ['plan', '-f', examples, '-R', '--out', 'saved.plan'],
  ['apply', 'saved.plan'],
  ['get', 'devices'],
  ['export', '--dir', 'exported'],
  ['db', 'plan'],
  ['db', 'apply', '--auto-approve'],
  ['actions', 'list'],
  ['actions', 'run'],
  ['audit'],
  ['exec', '-t', 'name=no-such-device', '--', 'true'],
  ['inventory', 'collect', '-t', 'name=no-such-device'],
  ['inventory', 'show', 'alpha-web-01'],
  ['actions', 'cancel', 'abc'],
  ['hostkeys', 'scan', '-t', 'name=no-such-device', '--yes'],
];

/** Each file under a folder, with its bytes and modification time: what "untouched" compares. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const file = path.join(dir, name);
    const hash = createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
    out[name] = `${hash} ${(await lstat(file)).mtimeMs}`;
  }
  return out;
}

/** A folder of files rmm must never touch, some named like cache entries and a day old. */
async function sentinels(name: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir);
  const old = new Date(Date.now() - 3 * 24 * 3600 * 1000);
  for (const file of ['notes.txt', 'seen.json', `${'a'.repeat(64)}.json`, `${'b'.repeat(64)}.json`]) {
    await writeFile(path.join(dir, file), `sentinel ${file}\n`);
    await utimes(path.join(dir, file), old, old);
  }
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'rmm-data-dir-private-'));
  await chmod(root, 0o755); // the unprivileged reader must reach the group-granted data directory
  await copyExamples(path.join(root, examples));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('what rmm makes in the data directory is private', () => {
  it('init makes the folders 0700 and devices.db 0600; its -wal and -shm and the cache files follow', async () => {
    const dataDir = path.join(root, 'fresh', 'data');
    expect((await rmm(['init'], dataDir)).exitCode).toBe(0);
    for (const dir of ['', 'cache', 'archive'])
      expect([dir, await modeOf(path.join(dataDir, dir))]).toEqual([dir, '700']);
    expect(await modeOf(path.join(dataDir, 'devices.db'))).toBe('600');
    const plan = await rmm(['plan', '-f', examples, '-R'], dataDir);
    expect(plan.stderr).toBe('');
    for (const dir of ['cache/check', 'cache/schema']) {
      expect([dir, await modeOf(path.join(dataDir, dir))]).toEqual([dir, '700']);
      const files = await readdir(path.join(dataDir, dir));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files)
        expect([file, await modeOf(path.join(dataDir, dir, file))]).toEqual([file, '600']);
    }
    // SQLite gives -wal and -shm the database file's mode; seen while a connection holds them.
    const db = new Database(path.join(dataDir, 'devices.db'));
    try {
      db.pragma('journal_mode = WAL');
      db.exec("INSERT INTO RmmMeta (Key, Value) VALUES ('probe', 'x')");
      for (const file of ['devices.db-wal', 'devices.db-shm'])
        expect([file, await modeOf(path.join(dataDir, file))]).toEqual([file, '600']);
    } finally {
      db.close();
    }
  });
});

describe('a data directory other users can enter', () => {
  it('is reported to its owner in one line naming the path, the modes and the chmod; the command works', async () => {
    const dataDir = path.join(root, 'loose', 'data');
    expect((await rmm(['init'], dataDir)).exitCode).toBe(0);
    await chmod(dataDir, 0o755);
    await chmod(path.join(dataDir, 'devices.db'), 0o644);
    const line = `warning: other users can enter the data directory ${shown(dataDir)} (mode 0755) (readable by them: devices.db 0644); make it private with: chmod 700 ${shown(dataDir)}`;
    for (const args of [['get', 'devices'], ['plan', '-f', examples, '-R'], ['init'], ['db', 'plan']]) {
      const result = await rmm(args, dataDir);
      expect({ args, exitCode: result.exitCode, stderr: result.stderr }).toEqual({
        args,
        exitCode: 0,
        stderr: line,
      });
    }
    // Nothing was changed for the user: the modes are theirs to set.
    expect(await modeOf(dataDir)).toBe('755');
    expect(await modeOf(path.join(dataDir, 'devices.db'))).toBe('644');

    // A group granted read access on purpose is not warned about; nor is a folder closed to others.
    for (const mode of [0o750, 0o700]) {
      await chmod(dataDir, mode);
      const result = await rmm(['get', 'devices'], dataDir);
      expect({ mode, exitCode: result.exitCode, stderr: result.stderr }).toEqual({
        mode,
        exitCode: 0,
        stderr: '',
      });
    }
  });
});

describe('read access granted to a group, as docs/security.md shows', () => {
  it('lets a member read, also through a -shm a writer made meanwhile, and warns nobody', async () => {
    const dataDir = path.join(root, 'group', 'data');
    await mkdir(path.dirname(dataDir), { mode: 0o755 });
    await chmod(path.dirname(dataDir), 0o755);
    expect((await rmm(['init'], dataDir)).exitCode).toBe(0);
    expect((await rmm(['apply', '-f', examples, '-R', '--auto-approve'], dataDir)).exitCode).toBe(0);
    // The unprivileged user is nobody in group nogroup when tests run as root; else the test's user.
    const group = process.getuid?.() === 0 ? 'nogroup' : String(process.getgid?.());
    expect(spawnSync('chgrp', ['-R', group, dataDir]).status).toBe(0);
    await chmod(dataDir, 0o2750);
    await chmod(path.join(dataDir, 'devices.db'), 0o640);
    const reader = () =>
      runCli(['get', 'devices', '--data-dir', dataDir], {
        cwd: root,
        unprivileged: true,
        env: { HOME: '/nonexistent' },
      });
    for (const phase of ['closed', 'a writer connected']) {
      const result = await reader();
      expect({ phase, exitCode: result.exitCode, stderr: result.stderr }).toEqual({
        phase,
        exitCode: 0,
        stderr: '',
      });
      expect(result.stdout).toMatch(/^alpha-web-01 /m);
      if (phase === 'closed') {
        // The owner writes and stays connected: SQLite makes a -wal and -shm the reader must read through.
        const db = new Database(path.join(dataDir, 'devices.db'));
        db.exec("INSERT INTO RmmMeta (Key, Value) VALUES ('probe', 'x')");
        const shm = await stat(path.join(dataDir, 'devices.db-shm'));
        expect({ mode: (shm.mode & 0o777).toString(8), gid: shm.gid }).toEqual({
          mode: '640',
          gid: (await stat(dataDir)).gid,
        });
        const again = await reader();
        db.close();
        expect({ exitCode: again.exitCode, stderr: again.stderr }).toEqual({ exitCode: 0, stderr: '' });
      }
    }
    const owner = await rmm(['get', 'devices'], dataDir);
    expect({ exitCode: owner.exitCode, stderr: owner.stderr }).toEqual({ exitCode: 0, stderr: '' });
  });
});

describe('a linked cache folder', () => {
  it('is never followed: every command leaves the files in its target untouched', async () => {
    const dataDir = path.join(root, 'linked', 'data');
    expect((await rmm(['init'], dataDir)).exitCode).toBe(0);
    const targets = { schema: await sentinels('schema-target'), check: await sentinels('check-target') };
    for (const [name, target] of Object.entries(targets)) {
      await rm(path.join(dataDir, 'cache', name), { recursive: true, force: true });
      await symlink(target, path.join(dataDir, 'cache', name));
    }
    const before = { schema: await snapshot(targets.schema), check: await snapshot(targets.check) };
    for (const args of COMMANDS) {
      const result = await rmm(args, dataDir);
      expect({ args, bug: /bug/.test(result.stderr) }).toEqual({ args, bug: false });
      expect({ args, schema: await snapshot(targets.schema), check: await snapshot(targets.check) }).toEqual({
        args,
        ...before,
      });
    }
    const plan = await rmm(['plan', '-f', examples, '-R'], dataDir);
    expect(plan.exitCode).toBe(0);
    const warnings = plan.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    // The schema cache is read first: the plan looks for pending schema steps before it checks.
    expect(warnings).toEqual([
      `warning: ignoring ${shown(path.join(dataDir, 'cache', 'schema'))}: it is a symbolic link, and rmm never follows links in its data directory; remove it (rm ${shown(path.join(dataDir, 'cache', 'schema'))}) and rmm makes a folder of its own`,
      `warning: ignoring ${shown(path.join(dataDir, 'cache', 'check'))}: it is a symbolic link, and rmm never follows links in its data directory; remove it (rm ${shown(path.join(dataDir, 'cache', 'check'))}) and rmm makes a folder of its own`,
    ]);
    // The links are left as they are.
    for (const name of ['schema', 'check'])
      expect((await lstat(path.join(dataDir, 'cache', name))).isSymbolicLink()).toBe(true);
  });

  it('a linked cache/ itself is ignored the same way, by init too', async () => {
    const dataDir = path.join(root, 'linked-cache', 'data');
    expect((await rmm(['init'], dataDir)).exitCode).toBe(0);
    const target = await sentinels('cache-target');
    await mkdir(path.join(target, 'schema'));
    await mkdir(path.join(target, 'check'));
    await writeFile(path.join(target, 'schema', `${'c'.repeat(64)}.json`), 'sentinel\n');
    await rm(path.join(dataDir, 'cache'), { recursive: true });
    await symlink(target, path.join(dataDir, 'cache'));
    const before = await readdir(target, { recursive: true });
    const schemaBefore = await readFile(path.join(target, 'schema', `${'c'.repeat(64)}.json`), 'utf8');
    for (const args of [
      ['init'],
      ['plan', '-f', examples, '-R'],
      ['apply', '-f', examples, '-R', '--auto-approve'],
    ]) {
      const result = await rmm(args, dataDir);
      expect({ args, exitCode: result.exitCode }).toEqual({ args, exitCode: 0 });
      expect(result.stderr).toContain(
        `warning: ignoring ${shown(path.join(dataDir, 'cache'))}: it is a symbolic link`,
      );
    }
    expect((await readdir(target, { recursive: true })).sort()).toEqual(before.sort());
    expect(await readFile(path.join(target, 'schema', `${'c'.repeat(64)}.json`), 'utf8')).toBe(schemaBefore);
  });
});
