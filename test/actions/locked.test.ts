import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';
import { waitFor } from '../helpers/wait.js';

/**
 * rmm exec while another writer holds the database's write lock longer than the 5 s busy timeout
 * (issue 11): at start-up that is a plain `locked` error (exit 5) and nothing is queued; once
 * commands have run, their results are kept and written when the lock is released, never lost to
 * a stack trace.
 */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
const dbFile = () => path.join(cwd, 'data', 'devices.db');
const query = <T>(sql: string, ...params: unknown[]): T[] => queryFile<T>(dbFile(), sql, ...params);

beforeAll(async () => {
  let transport: string;
  ({ sshd, cwd, env, transport } = await sshWorkspace('rmm-locked-', 'locked-test'));
  const device = (name: string) => `apiVersion: rmm/v1
kind: Device
metadata: {name: ${name}}
spec: {site: main, address: 127.0.0.1, os: linux, transport: {${transport}}}
`;
  await applyDevices({ cwd, env }, [device('lock-a'), device('lock-b')].join('---\n'));
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});

/** Another writer: a connection of the test's own holding the write lock until released. */
function holdLock() {
  const holder = new Database(dbFile());
  holder.exec('BEGIN IMMEDIATE');
  return () => {
    holder.exec('ROLLBACK');
    holder.close();
  };
}

describe('rmm exec and a database another writer keeps locked', () => {
  it('at start-up: a clear locked error (exit 5), not a bug; nothing queued', async () => {
    const before = query<{ n: number }>('SELECT count(*) AS n FROM Actions')[0]?.n;
    const release = holdLock();
    try {
      const result = await runCli(['exec', '-t', 'name=lock-*', '--', 'true'], { cwd, env });
      expect(result.exitCode, result.stderr).toBe(5);
      expect(result.stderr).toContain('another writer holds the write lock on the database (waited 5 s)');
      expect(result.stderr).toContain('nothing was queued or run');
      expect(result.stderr).not.toContain('bug');
      expect(result.stderr).not.toContain('SqliteError');
    } finally {
      release();
    }
    expect(query<{ n: number }>('SELECT count(*) AS n FROM Actions')[0]?.n).toBe(before);
  }, 30_000);

  it('while results are written: keeps them, waits, and records them once the lock is released', async () => {
    const go = path.join(cwd, 'go');
    const ran = path.join(cwd, 'ran.log');
    // Each command waits (bounded) for the test's go file, so the lock is taken while they run.
    const command = `i=0; while [ ! -e '${go}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; echo ran >> '${ran}'; echo done`;
    const before = query<{ n: number }>('SELECT max(rowid) AS n FROM Actions')[0]?.n ?? 0;
    const child = spawnCli(['exec', '-t', 'name=lock-*', '--', command], { cwd, env });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    let release: (() => void) | undefined;
    try {
      await waitFor('both actions Running', () =>
        query<{ n: number }>(
          "SELECT count(*) AS n FROM Actions WHERE rowid > ? AND Status = 'Running'",
          before,
        )[0]?.n === 2
          ? true
          : undefined,
      );
      release = holdLock();
      writeFileSync(go, '');
      await waitFor(
        'exec to say the database is locked',
        () => (stderr.includes('the database is locked by another writer') ? true : undefined),
        { timeoutMs: 30_000 },
      );
      expect(child.exitCode).toBeNull();
      release();
      release = undefined;
      const result = await child;
      expect(result.exitCode, String(result.stderr)).toBe(0);
      expect(String(result.stderr)).not.toContain('SqliteError');
      expect(result.stdout).toContain('Exec complete: 2 succeeded');
    } finally {
      release?.();
      child.kill('SIGKILL');
    }
    const rows = query<{ Status: string; Result: string }>(
      'SELECT Status, Result FROM Actions WHERE rowid > ?',
      before,
    );
    expect(rows.map((r) => r.Status)).toEqual(['Succeeded', 'Succeeded']);
    for (const r of rows) expect(JSON.parse(r.Result).stdout).toBe('done\n');
    expect(query('SELECT * FROM ActionLeases')).toEqual([]);
    expect(readFileSync(ran, 'utf8')).toBe('ran\nran\n');
  }, 60_000);
});
