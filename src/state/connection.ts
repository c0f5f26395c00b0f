import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { RmmError } from '../errors.js';

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
  let db: Db | undefined;
  try {
    if (!readonly) mkdirSync(path.dirname(file), { recursive: true });
    db = new Database(file, { readonly, fileMustExist: readonly });
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
