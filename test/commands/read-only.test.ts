import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';
import { DROP_MANAGED_TRIGGERS } from '../helpers/older-schema.js';
import { execFile } from '../helpers/sqlite.js';

/**
 * Read-only use (issue 10, item 5): an auditor, or a CI plan job on a read-only copy, may read
 * devices.db but write neither it nor its folder. Every command that only reads works for them, and
 * every command that writes says clearly that it needs write access; either way the database and the
 * data directory are exactly as they were. The CLI runs as a user permission bits stop (nobody, when
 * tests run as root), on copies of a database the test's user built.
 */
let root: string;
/** The data directory the test's own user applies the examples into. */
let source: string;
/** The examples as a repository; one site changed in `changed`. */
let repo: string;
let changed: string;
/** A folder the unprivileged user may write: export, plan --out. */
let scratch: string;
const ACTION = '7f3c0e2a-0000-4000-8000-000000000001';
/** Folders the tests made read-only, opened again for cleanup. */
const locked: string[] = [];

/** Runs rmm as the unprivileged user; --data-dir goes before a `--` (exec's command follows it). */
function rmm(args: string[], dataDir: string): Promise<CliResult> {
  const end = args.includes('--') ? args.indexOf('--') : args.length;
  const withDir = [...args.slice(0, end), '--data-dir', dataDir, ...args.slice(end)];
  return runCli(withDir, { cwd: root, unprivileged: true });
}

async function folder(...parts: string[]): Promise<string> {
  const dir = path.join(root, ...parts);
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  return dir;
}

/**
 * A copy of the source database in `name`/data: the file mode `fileMode`, its folder and the folder
 * above `dirMode`; with `cache`, the source's warm cache too (read-only as well).
 */
async function readOnlyCopy(
  name: string,
  options: {
    fileMode?: number;
    dirMode?: number;
    cache?: boolean;
    prepare?: (file: string) => void | Promise<void>;
  } = {},
): Promise<string> {
  const home = await folder(name);
  const dataDir = await folder(name, 'data');
  const file = path.join(dataDir, 'devices.db');
  await copyFile(path.join(source, 'devices.db'), file);
  // The owner lets this plan job save plans: it may read the console's plan key (docs/ci-workflows.md).
  await writeFile(path.join(dataDir, 'plan.key'), randomBytes(32), { mode: 0o644 });
  await options.prepare?.(file);
  if (options.cache) {
    await cp(path.join(source, 'cache'), path.join(dataDir, 'cache'), { recursive: true });
    for (const dir of ['cache', 'cache/check', 'cache/schema']) {
      await chmod(path.join(dataDir, dir), options.dirMode ?? 0o555);
      locked.push(path.join(dataDir, dir));
    }
  }
  await chmod(file, options.fileMode ?? 0o444);
  await chmod(dataDir, options.dirMode ?? 0o555);
  await chmod(home, options.dirMode ?? 0o555);
  locked.push(dataDir, home);
  return dataDir;
}

/** Every file under a folder with a hash of its bytes: what "nothing changed" compares. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = entry.isFile()
      ? createHash('sha256')
          .update(await readFile(file))
          .digest('hex')
      : 'dir';
  }
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'rmm-read-only-'));
  await chmod(root, 0o755);
  scratch = await folder('scratch');
  await chmod(scratch, 0o777);
  repo = await folder('repo');
  await copyExamples(repo);
  changed = await folder('changed');
  await cp(repo, changed, { recursive: true });
  const site = path.join(changed, 'sites', 'alpha.yaml');
  await writeFile(site, (await readFile(site, 'utf8')).replace(/timezone: .*/, 'timezone: UTC'));
  source = path.join(await folder('source'), 'data');
  const own = (args: string[]) => runCli([...args, '--data-dir', source], { cwd: root });
  expect((await own(['init'])).exitCode).toBe(0);
  expect((await own(['apply', '-f', repo, '-R', '--auto-approve'])).exitCode).toBe(0);
  // A warm cache: the check results of every example file and the declared schema's model.
  expect((await own(['plan', '-f', repo, '-R'])).exitCode).toBe(0);
  execFile(
    path.join(source, 'devices.db'),
    `INSERT INTO Inventory (DeviceId, Category, Data) VALUES ('alpha-web-01', 'kernel', '{"release":"6.1.0-test"}');
     INSERT INTO Actions (ActionId, DeviceId, ActionType, Status, Payload, CreatedBy)
       VALUES ('${ACTION}', 'alpha-web-01', 'exec', 'Pending', '{"command":"uptime"}', 'tester');`,
  );
  // Closed by its last connection, the database is one file: no -wal or -shm to copy.
  expect((await readdir(source)).sort()).toEqual(['archive', 'cache', 'devices.db']);
}, 120_000);

afterAll(async () => {
  for (const dir of locked) await chmod(dir, 0o755).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

/** The read commands, as a user would type them, and what each must show. */
const READS: Array<{ args: () => string[]; stdout: RegExp; exitCode?: number; stderr?: RegExp }> = [
  { args: () => ['plan', '-f', repo, '-R', '--detailed-exitcode'], stdout: /No changes\./ },
  { args: () => ['plan', '-f', changed, '-R', '--detailed-exitcode'], stdout: /~ Site\/alpha/, exitCode: 2 },
  { args: () => ['get', 'devices'], stdout: /^NAME .*\n(.*\n)*alpha-web-01 /m },
  { args: () => ['get', 'sites', 'alpha', '-o', 'yaml'], stdout: /name: alpha/ },
  {
    args: () => ['export', '--dir', path.join(scratch, 'export')],
    stdout: /^$/,
    stderr: /^Exported 173 resources to .*scratch\/export\.$/,
  },
  { args: () => ['db', 'plan', '--detailed-exitcode'], stdout: /No changes/ },
  { args: () => ['actions', 'list'], stdout: new RegExp(ACTION.slice(0, 8)) },
  { args: () => ['actions', 'show', ACTION.slice(0, 8)], stdout: /uptime/ },
  { args: () => ['inventory', 'show', 'alpha-web-01'], stdout: /release: 6\.1\.0-test/ },
  { args: () => ['audit', '-t', 'Site/alpha'], stdout: /apply\.create\s+Site\/alpha/ },
];

async function expectReadsWork(dataDir: string): Promise<void> {
  const before = await snapshot(dataDir);
  for (const read of READS) {
    const args = read.args();
    const result = await rmm(args, dataDir);
    expect({ args: args.join(' '), stderr: result.stderr, exitCode: result.exitCode }).toEqual({
      args: args.join(' '),
      stderr: expect.stringMatching(read.stderr ?? /^$/),
      exitCode: read.exitCode ?? 0,
    });
    expect(result.stdout, args.join(' ')).toMatch(read.stdout);
  }
  // The database is byte-identical, and no -wal, -shm or cache entry was left behind.
  expect(await snapshot(dataDir)).toEqual(before);
}

describe('commands that only read work for a user who may not write', () => {
  it('the database (0444) nor its folder (0555), with a warm cache they cannot write either', async () => {
    await expectReadsWork(await readOnlyCopy('ro-warm', { cache: true }));
  });

  it('with no cache, and none can be made: results come, nothing is written', async () => {
    await expectReadsWork(await readOnlyCopy('ro-cold'));
  });

  it('in a folder they may write, the database 0444: no -shm of theirs is left to lock its owner out', async () => {
    await expectReadsWork(await readOnlyCopy('ro-file', { dirMode: 0o777 }));
  });

  it('in a folder whose name holds URI characters (space, #, %, ?)', async () => {
    // The immutable open names the file by a file: URI, so these must be escaped, never read as URI syntax.
    const dataDir = await readOnlyCopy('odd name #1 %41 ?x=1');
    const get = await rmm(['get', 'sites', 'alpha', '-o', 'json'], dataDir);
    expect([get.exitCode, get.stderr]).toEqual([0, '']);
    expect(JSON.parse(get.stdout)[0].metadata.name).toBe('alpha');
  });

  it('while a writer is connected (its -wal and -shm exist): they see what it committed', async () => {
    const dataDir = await readOnlyCopy('ro-live', { dirMode: 0o755, fileMode: 0o644 });
    const writer = new Database(path.join(dataDir, 'devices.db'));
    try {
      writer.pragma('wal_autocheckpoint = 0');
      writer.exec("UPDATE Devices SET IPAddress = '10.9.9.9' WHERE DeviceId = 'alpha-web-01'");
      expect((await readdir(dataDir)).sort()).toEqual([
        'devices.db',
        'devices.db-shm',
        'devices.db-wal',
        'plan.key',
      ]);
      const before = await snapshot(dataDir);
      const get = await rmm(['get', 'devices', 'alpha-web-01', '-o', 'json'], dataDir);
      expect([get.exitCode, get.stderr]).toEqual([0, '']);
      expect(JSON.parse(get.stdout)[0].spec.address).toBe('10.9.9.9');
      expect(await snapshot(dataDir)).toEqual(before);
    } finally {
      writer.close();
    }
  });

  it('a -wal left by a writer that crashed, with no -shm: reading it needs a writer, which is said', async () => {
    // The -wal of a writer that stopped before its last checkpoint, next to the file it belongs to.
    const crashed = await folder('crashed');
    await copyFile(path.join(source, 'devices.db'), path.join(crashed, 'devices.db'));
    const writer = new Database(path.join(crashed, 'devices.db'));
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec("UPDATE Devices SET IPAddress = '10.9.9.9' WHERE DeviceId = 'alpha-web-01'");
    let dataDir: string;
    try {
      dataDir = await readOnlyCopy('ro-stranded', {
        prepare: (file) => copyFile(path.join(crashed, 'devices.db-wal'), `${file}-wal`),
      });
    } finally {
      writer.close();
    }
    const before = await snapshot(dataDir);
    const get = await rmm(['get', 'devices', 'alpha-web-01'], dataDir);
    expect({ exitCode: get.exitCode, stdout: get.stdout }).toEqual({ exitCode: 7, stdout: '' });
    expect(get.stderr).toBe(
      [
        'Error: cannot read ro-stranded/data/devices.db: devices.db-wal holds changes not yet in it, and reading them needs devices.db-shm, which you cannot create in ro-stranded/data',
        '  a user who may write the database folds devices.db-wal in by opening it for writing, for example with: rmm db apply',
      ].join('\n'),
    );
    expect(await snapshot(dataDir)).toEqual(before);
  });

  it('a plan over a schema behind schemas/database.yaml shows the pending steps, changing nothing', async () => {
    const dataDir = await readOnlyCopy('ro-behind', {
      prepare: (file) =>
        execFile(
          file,
          `${DROP_MANAGED_TRIGGERS} ALTER TABLE ManagedResources DROP COLUMN AppliedHash; UPDATE RmmMeta SET Value = 'older' WHERE Key = 'schema_hash'`,
        ),
    });
    const before = await snapshot(dataDir);
    const plan = await rmm(['plan', '-f', changed, '-R', '--detailed-exitcode'], dataDir);
    expect([plan.exitCode, plan.stderr]).toEqual([2, '']);
    expect(plan.stdout).toMatch(
      /^Database schema: 5 pending steps, run first by rmm apply in the same transaction:\n {2}\+ add column ManagedResources\.AppliedHash/,
    );
    expect(plan.stdout).toContain('~ Site/alpha');
    const db = await rmm(['db', 'plan', '--detailed-exitcode'], dataDir);
    expect([db.exitCode, db.stderr]).toEqual([2, '']);
    expect(db.stdout).toContain('add column ManagedResources.AppliedHash');
    // Read commands that need the schema up to date say so, as for any user.
    const get = await rmm(['get', 'devices'], dataDir);
    expect(get.exitCode).toBe(1);
    expect(get.stderr).toContain('Error: the database schema is behind schemas/database.yaml');
    expect(await snapshot(dataDir)).toEqual(before);
  });
});

describe('commands that write refuse a user who may not, clearly, changing nothing', () => {
  /** Each write path; `plan --out` saves a plan into the scratch folder first. */
  const WRITES: Record<string, () => string[]> = {
    'apply (no changes)': () => ['apply', '-f', repo, '-R', '--auto-approve'],
    'apply (changes)': () => ['apply', '-f', changed, '-R', '--auto-approve'],
    'apply a saved plan': () => ['apply', path.join(scratch, 'saved.json')],
    init: () => ['init'],
    'db apply': () => ['db', 'apply'],
    exec: () => ['exec', '-t', 'name=alpha-web-01', '--', 'true'],
    'actions run': () => ['actions', 'run'],
    'actions cancel': () => ['actions', 'cancel', ACTION.slice(0, 8)],
    'inventory collect': () => ['inventory', 'collect', '-t', 'name=alpha-web-01'],
    'hostkeys scan': () => ['hostkeys', 'scan', '-t', 'name=alpha-web-01', '--yes'],
  };

  async function expectWritesRefused(dataDir: string, message: RegExp): Promise<void> {
    const saved = await rmm(
      ['plan', '-f', changed, '-R', '--out', path.join(scratch, 'saved.json')],
      dataDir,
    );
    expect(saved.exitCode).toBe(0);
    const before = await snapshot(dataDir);
    for (const [name, args] of Object.entries(WRITES)) {
      const result = await rmm(args(), dataDir);
      expect({ name, exitCode: result.exitCode, stdout: result.stdout }).toEqual({
        name,
        exitCode: 7,
        stdout: '',
      });
      expect(result.stderr, name).toMatch(message);
      expect(result.stderr, name).toContain('commands that only read');
      expect(result.stderr, name).not.toMatch(/bug|SQLITE_|readonly database/);
    }
    expect(await snapshot(dataDir)).toEqual(before);
  }

  it('a database file they may not write', async () => {
    const dataDir = await readOnlyCopy('rw-file', { dirMode: 0o777 });
    await expectWritesRefused(
      dataDir,
      /^Error: cannot write rw-file\/data\/devices\.db: it is not writable for user .*; it belongs to uid \d+ with mode 0444\n/,
    );
  });

  it('a writable database in a folder they may not write (SQLite keeps -wal and -shm there)', async () => {
    const dataDir = await readOnlyCopy('rw-dir', { fileMode: 0o666 });
    await expectWritesRefused(
      dataDir,
      /^Error: cannot write rw-dir\/data\/devices\.db: SQLite keeps devices\.db-wal and devices\.db-shm in its folder rw-dir\/data, which is not writable for user .*; it belongs to uid \d+ with mode 0555\n/,
    );
  });
});
