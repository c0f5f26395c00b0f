import {
  accessSync,
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  type Stats,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { displayPath } from './display-path.js';
import { RmmError } from './errors.js';
import { PRIVATE_DIR, realDirectory, warnIfOthersCanRead } from './private-files.js';

/**
 * Checks of the data directory and its database file, made before SQLite or mkdir meet them: they
 * fail with "disk I/O error", "unable to open database file" or a raw EACCES, and a data directory
 * that is a file made plan advise `rmm init`, which then failed the same way. Each problem here is an
 * RmmError `data-dir` (exit 7) that names the path, what is wrong with it and what to do. The checks
 * only explain: SQLite and the file system still decide, so a race between check and use is harmless.
 */

/** The first 16 bytes of every SQLite 3 database (an empty file is a new database too). */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const CHOOSE = 'choose another data directory with --data-dir or $RMM_DATA_DIR';

/** For commands that work on an existing database: it is there, and SQLite can read it. */
export function requireDatabaseFile(file: string): void {
  const dir = path.dirname(file);
  requireUsableDirectory(dir);
  const info = statOrProblem(file);
  if (!info) {
    // rmm init makes it, unless init would fail too: then the data directory is the problem.
    if (writable(dir))
      throw new RmmError('not-found', `no database at ${displayPath(file)}`, {
        details: ['create it with: rmm init'],
      });
    throw new RmmError(
      'data-dir',
      `no database at ${displayPath(file)}, and rmm init cannot create it there`,
      {
        details: [`${notWritable(nearestExisting(dir))}`, CHOOSE],
      },
    );
  }
  requireDatabaseContents(file, info);
  requireReadableWal(file);
  warnIfOthersCanRead(dir);
}

/**
 * A -wal that holds changes, with no -shm beside it: a writer stopped before its last checkpoint.
 * SQLite reads those changes only through a -shm, which it must then create: a user who cannot
 * write the folder cannot read the database until a writer has folded the -wal in.
 */
function requireReadableWal(file: string): void {
  const name = path.basename(file);
  const dir = path.dirname(file);
  if (sizeOf(`${file}-wal`) === 0 || statOrProblem(`${file}-shm`) || writable(dir)) return;
  throw new RmmError(
    'data-dir',
    `cannot read ${displayPath(file)}: ${name}-wal holds changes not yet in it, and reading them needs ${name}-shm, which you cannot create in ${displayPath(dir)}`,
    {
      details: [
        `a user who may write the database folds ${name}-wal in by opening it for writing, for example with: rmm db apply`,
      ],
    },
  );
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0; // missing, or unreadable: SQLite will say
  }
}

/**
 * For commands that write the database (apply, exec, init, db apply, actions run|cancel, inventory
 * collect, hostkeys scan), after requireDatabaseFile: it is writable, and so is its folder, where
 * SQLite keeps devices.db-wal and devices.db-shm (unless both are there and writable). A user who may
 * only read is told so here, before SQLite answers "attempt to write a readonly database".
 */
export function requireWritableDatabase(file: string): void {
  const shown = displayPath(file);
  const problem = writeProblem(file);
  if (problem) {
    throw new RmmError('data-dir', `cannot write ${shown}: ${problem}`, { details: WRITE_ADVICE });
  }
  const dir = path.dirname(file);
  const inDir = writeProblem(dir);
  if (inDir && (writeProblem(`${file}-wal`) || writeProblem(`${file}-shm`))) {
    const name = path.basename(file);
    throw new RmmError(
      'data-dir',
      `cannot write ${shown}: SQLite keeps ${name}-wal and ${name}-shm in its folder ${displayPath(dir)}, ${inDir.replace(/^it is/, 'which is')}`,
      { details: WRITE_ADVICE },
    );
  }
}

const WRITE_ADVICE = [
  'commands that only read (plan, get, export, db plan, actions list|show, inventory show, audit) work without write access',
  'to write, ask its owner for write access, or run rmm as a user who has it',
];

/** Why this user cannot write a file or folder (a missing one included), or undefined when they can. */
function writeProblem(target: string): string | undefined {
  let info: Stats;
  try {
    info = statSync(target);
  } catch {
    return 'it does not exist';
  }
  try {
    accessSync(target, constants.W_OK);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EROFS') return 'it is on a read-only file system';
    return `it is not writable ${forUser(info)}`;
  }
}

/**
 * For `rmm init`: the data directory and its cache/ and archive/ folders exist (made if missing),
 * and the database, if there is one, is a file SQLite can read; if there is none, it can be made.
 * Folders it makes are private (0700); a cache/ or archive/ that is a link is left alone and ignored.
 */
export function prepareDataDir(dataDir: string): void {
  // Everything is checked before anything is made: a refused init leaves no folders behind.
  requireUsableDirectory(dataDir);
  const file = path.join(dataDir, 'devices.db');
  const info = statOrProblem(file);
  if (info) {
    requireDatabaseContents(file, info);
    requireWritableDatabase(file);
  } else if (!writable(dataDir)) {
    const parent = nearestExisting(dataDir);
    const what = parent === dataDir ? displayPath(file) : `the data directory ${displayPath(dataDir)}`;
    throw new RmmError('data-dir', `cannot create ${what}: ${notWritable(parent)}`, { details: [CHOOSE] });
  }
  for (const [dir, role] of [
    [dataDir, 'the data directory'],
    [path.join(dataDir, 'cache'), 'the cache folder'],
    [path.join(dataDir, 'archive'), 'the archive folder'],
  ] as const) {
    // mkdir would follow a link to a directory without a word; realDirectory warns about it instead.
    if (dir !== dataDir && lstatOrUndefined(dir) && !realDirectory(dir)) continue;
    try {
      mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
    } catch (error) {
      throw mkdirProblem(dir, role, error);
    }
  }
  warnIfOthersCanRead(dataDir);
}

function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

/** The directory exists, is a directory, and its entries can be reached. */
function requireUsableDirectory(dir: string): void {
  let info: Stats;
  try {
    info = statSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // missing: the caller says whether that is a problem
    if (code === 'ENOTDIR') throw notADirectory(dir);
    if (code === 'EACCES') throw unreachable(dir);
    throw error;
  }
  if (!info.isDirectory()) throw notADirectory(dir);
  try {
    accessSync(dir, constants.X_OK);
  } catch {
    throw unreachable(dir);
  }
}

/** The file's stat, or undefined when it does not exist; a parent in the way is a problem. */
function statOrProblem(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw notADirectory(path.dirname(file));
    if (code === 'EACCES') throw unreachable(path.dirname(file));
    throw error;
  }
}

function requireDatabaseContents(file: string, info: Stats): void {
  const shown = displayPath(file);
  if (info.isDirectory())
    throw new RmmError('data-dir', `${shown} is a directory, not a database file`, {
      details: ['move it away, then create the database with: rmm init', CHOOSE],
    });
  if (!info.isFile()) throw new RmmError('data-dir', `${shown} is not a regular file`, { details: [CHOOSE] });
  const head = Buffer.alloc(SQLITE_HEADER.length);
  let read: number;
  try {
    const fd = openSync(file, 'r');
    try {
      read = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw error;
    throw new RmmError('data-dir', `cannot read ${shown}: permission denied ${forUser(info)}`, {
      details: ['ask its owner for read access, or run rmm as a user who has it'],
    });
  }
  if (read > 0 && !head.subarray(0, read).equals(SQLITE_HEADER.subarray(0, read)))
    throw new RmmError('data-dir', `${shown} is not an SQLite database`, {
      details: ['move it away (rmm never overwrites it), then create the database with: rmm init', CHOOSE],
    });
}

function mkdirProblem(dir: string, role: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EEXIST' || code === 'ENOTDIR') return notADirectory(dir, role);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    const parent = nearestExisting(dir);
    const why =
      code === 'EROFS' ? `${displayPath(parent)} is on a read-only file system` : notWritable(parent);
    return new RmmError('data-dir', `cannot create ${role} ${displayPath(dir)}: ${why}`, {
      details: [CHOOSE],
    });
  }
  return error;
}

/** `dir`, or the first of its parents that is not a directory, named as the problem. */
function notADirectory(dir: string, role = 'the data directory'): RmmError {
  let culprit = dir;
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      if (!statSync(at).isDirectory()) culprit = at;
      else break;
    } catch {
      // missing: look further up
    }
    if (path.dirname(at) === at) break;
  }
  const what = culprit === dir ? 'it is a file' : `${displayPath(culprit)} is a file`;
  return new RmmError('data-dir', `${role} ${displayPath(dir)} is not a directory: ${what}`, {
    details: [CHOOSE],
  });
}

function unreachable(dir: string): RmmError {
  return new RmmError(
    'data-dir',
    `cannot reach the data directory ${displayPath(dir)}: permission denied ${forUser()}`,
    { details: ['every folder on its path needs search (x) permission for you', CHOOSE] },
  );
}

function nearestExisting(dir: string): string {
  let at = dir;
  for (let i = 0; i < 4096 && path.dirname(at) !== at; i++) {
    try {
      statSync(at);
      return at;
    } catch {
      at = path.dirname(at);
    }
  }
  return at;
}

function writable(dir: string): boolean {
  try {
    accessSync(nearestExisting(dir), constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function notWritable(dir: string): string {
  return `${displayPath(dir)} is not writable ${forUser()}`;
}

/** "for user nobody (uid 65534)", and the file's owner and mode when known. */
function forUser(info?: Stats): string {
  const uid = process.getuid?.();
  let user = '';
  try {
    user = os.userInfo().username;
  } catch {
    // a uid without a passwd entry (containers): the number says it
  }
  const who = uid === undefined ? 'for you' : `for user ${user ? `${user} (uid ${uid})` : `uid ${uid}`}`;
  if (!info) return who;
  return `${who}; it belongs to uid ${info.uid} with mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}`;
}
