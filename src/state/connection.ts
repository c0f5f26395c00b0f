import { accessSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { RmmError } from '../errors.js';
import { PRIVATE_DIR, PRIVATE_FILE } from '../private-files.js';

// better-sqlite3 reads this once, when its addon loads at the first open: it turns on SQLite's URI
// filenames, which the immutable read below needs. Only names that begin with "file:" are URIs, and
// openDatabase makes every path absolute, so no plain path is ever read as one.
process.env.SQLITE_USE_URI = '1';

export type Db = Database.Database;

export interface OpenOptions {
  /** Open without write access; the file must already exist. */
  readonly?: boolean;
}

/**
 * Opens the console database with the settings every rmm connection needs: WAL (readers never block
 * the writer), foreign keys enforced (SQLite leaves them off by default, per connection), and a busy
 * timeout so a second rmm process waits instead of failing at once.
 */
export function openDatabase(file: string, options: OpenOptions = {}): Db {
  const readonly = options.readonly ?? false;
  const absolute = path.resolve(file);
  let db: Db | undefined;
  try {
    if (!readonly) createPrivately(absolute);
    db = readonly ? openReadOnly(absolute) : new Database(absolute);
    db.pragma('busy_timeout = 5000');
    // journal_mode is stored in the file; a read-only connection can neither set nor need it.
    if (!readonly) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // A file that is not a database opens fine and fails at its first read: read now, fail here.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch (error) {
    db?.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new RmmError('database', `cannot open database ${file}: ${reason}`, { cause: error });
  }
}

/**
 * A new database file is made 0600 before SQLite opens it (SQLite would make it 0644), and SQLite
 * gives its -wal and -shm the database file's mode: all three private, as is its folder when made.
 * An existing file keeps its mode (data-dir.ts warns when others can read it).
 */
function createPrivately(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR });
  try {
    closeSync(openSync(file, 'wx', PRIVATE_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * A read-only connection. SQLite's WAL readers share an index, devices.db-shm, which they create
 * next to the file when it is missing: a user who may not write the folder then fails with "attempt to
 * write a readonly database", and one who may not write the file would leave a -shm of their own
 * (with the file's mode) that its owner might not be able to write. So:
 * - a user who may write the file and its folder reads as any writer does;
 * - when the -shm exists (a writer is connected, or stopped without cleaning up), SQLite since 3.22
 *   reads through it without writing (https://www.sqlite.org/wal.html#readonly) and sees what that
 *   writer committed;
 * - otherwise, with nothing waiting in the -wal, no connection is open and the file holds all there
 *   is: it is opened immutable, read without a -shm and without locks. An apply its owner starts
 *   later is not seen, and one that ends during the read could be seen in part (docs/database.md).
 * A -wal with changes and no -shm, in a folder the user cannot write, is refused by data-dir.ts.
 */
function openReadOnly(file: string): Db {
  const writer = canWrite(file) && canWrite(path.dirname(file));
  const immutable = !writer && !exists(`${file}-shm`) && sizeOf(`${file}-wal`) === 0;
  const name = immutable ? `${pathToFileURL(file).href}?immutable=1` : file;
  return new Database(name, { readonly: true, fileMustExist: true });
}

/**
 * A private, writable copy of a database, in memory: for work that must never reach the file, such
 * as planning over pending schema steps, which runs them in a transaction that is rolled back. Costs
 * memory the size of the database.
 */
export function memoryCopy(db: Db): Db {
  const image = db.serialize();
  // Header bytes 18 and 19 say WAL (2); SQLite refuses an in-memory database that says so. 1 is the
  // rollback journal, which is all an in-memory database has.
  image[18] = 1;
  image[19] = 1;
  const copy = new Database(image);
  copy.pragma('foreign_keys = ON');
  return copy;
}

function canWrite(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

/** 0 when missing. */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
