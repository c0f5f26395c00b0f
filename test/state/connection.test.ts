import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryCopy, openDatabase } from '../../src/state/connection.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rmm-connection-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openDatabase', () => {
  it('creates the parent directory and sets WAL, foreign keys and the busy timeout', () => {
    const file = path.join(dir, 'nested', 'deeper', 'devices.db');
    const db = openDatabase(file);
    try {
      expect(existsSync(file)).toBe(true);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    } finally {
      db.close();
    }
  });

  it('read-only: enforces foreign keys, refuses writes', () => {
    const file = path.join(dir, 'ro.db');
    openDatabase(file).close();
    const db = openDatabase(file, { readonly: true });
    try {
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(() => db.exec('CREATE TABLE t (a)')).toThrow(/readonly/);
    } finally {
      db.close();
    }
  });

  it('a file that is not a database is an RmmError naming the file', () => {
    const file = path.join(dir, 'not-a-db.db');
    writeFileSync(
      file,
      'this is plain text, not SQLite, and it is long enough to have a header...'.repeat(20),
    );
    expect(() => openDatabase(file)).toThrow(
      expect.objectContaining({
        code: 'database',
        message: `cannot open database ${file}: file is not a database`,
      }),
    );
  });

  it('read-only on a missing file fails instead of creating it', () => {
    const file = path.join(dir, 'missing.db');
    expect(() => openDatabase(file, { readonly: true })).toThrow(
      expect.objectContaining({ code: 'database' }),
    );
    expect(existsSync(file)).toBe(false);
  });

  it('a relative path that begins with file: is a file of that name, never a URI', () => {
    // URI filenames are on for the immutable read-only open; plain paths are made absolute first.
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      openDatabase('file:plain.db?mode=memory').close();
      expect(existsSync(path.join(dir, 'file:plain.db?mode=memory'))).toBe(true);
      const again = openDatabase('file:plain.db?mode=memory', { readonly: true });
      expect(again.pragma('journal_mode', { simple: true })).toBe('wal');
      again.close();
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('memoryCopy', () => {
  it('is a writable copy of a WAL database, foreign keys on; the file is untouched', () => {
    const file = path.join(dir, 'copied.db');
    const setup = openDatabase(file);
    setup.exec(
      "CREATE TABLE p (id TEXT PRIMARY KEY); CREATE TABLE c (p TEXT REFERENCES p(id)); INSERT INTO p VALUES ('a')",
    );
    setup.close();
    const before = readFileSync(file);
    const db = openDatabase(file, { readonly: true });
    const copy = memoryCopy(db);
    db.close();
    try {
      copy.exec("INSERT INTO p VALUES ('b'); ALTER TABLE p ADD COLUMN note TEXT");
      expect(copy.prepare('SELECT id FROM p ORDER BY id').pluck().all()).toEqual(['a', 'b']);
      expect(() => copy.exec("INSERT INTO c VALUES ('nope')")).toThrow(/FOREIGN KEY/);
    } finally {
      copy.close();
    }
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});
