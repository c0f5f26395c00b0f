import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generate } from '../../bench/generate.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { waitFor } from '../helpers/wait.js';

// Issue 16 (d): the manifests are written in the apply's transaction, so an apply killed with
// SIGKILL while it writes leaves rows and manifests together as they were.

let cwd: string;
let input: string;
const db = () => path.join(cwd, 'data', 'devices.db');
const rmm = (...args: string[]) => runCli(args, { cwd, env: { RMM_TIMING: '1' } });

/** What the rows and the manifests hold, in one digest each. */
function state(): { rows: string; manifests: string } {
  const digest = (sql: string) =>
    createHash('sha256')
      .update(JSON.stringify(queryFile(db(), sql)))
      .digest('hex');
  return {
    rows: digest('SELECT DeviceId, CustomFields FROM Devices ORDER BY DeviceId'),
    manifests: digest('SELECT SourceFile, ContentKey FROM SourceManifests ORDER BY SourceFile'),
  };
}

/** True while another connection holds the write lock (the apply's BEGIN IMMEDIATE). */
function writeLocked(): boolean {
  const probe = new Database(db(), { timeout: 0 });
  try {
    probe.exec('BEGIN IMMEDIATE');
    probe.exec('ROLLBACK');
    return false;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return true;
    throw error;
  } finally {
    probe.close();
  }
}

beforeEach(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-incremental-kill-'));
  input = generate(path.join(cwd, 'input'), 20_000, 200).many;
  expect((await rmm('init')).exitCode).toBe(0);
  const applied = await rmm('apply', '-f', input, '--auto-approve');
  expect(applied.exitCode, applied.stderr).toBe(0);
}, 120_000);

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('an apply killed while it writes', () => {
  it('leaves rows and manifests as they were, and the next plan is still the full plan', async () => {
    const before = state();
    // Half the files change: 10,000 updates, long enough a transaction to be caught holding the lock.
    const files = (await readdir(input)).filter((f) => f.startsWith('devices-')).slice(0, 100);
    for (const file of files) {
      const text = await readFile(path.join(input, file), 'utf8');
      await writeFile(path.join(input, file), text.replace(/owner: team-\d+\}/g, 'owner: team-killed}'));
    }
    const apply = spawnCli(['apply', '-f', input, '--auto-approve'], { cwd });
    await waitFor('the apply to hold the write lock', () => (writeLocked() ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 5,
    });
    apply.kill('SIGKILL');
    const ended = await apply;
    expect(ended.signal).toBe('SIGKILL');
    expect(state()).toEqual(before);
    const incremental = await rmm('plan', '-f', input, '--json');
    const full = await rmm('plan', '-f', input, '--json', '--no-incremental');
    expect(incremental.stderr).toMatch(/^\[timing\] incremental: read 100, unread 101$/m);
    expect(incremental.stdout).toBe(full.stdout);
    expect(JSON.parse(incremental.stdout).summary).toEqual({ add: 0, change: 10_000, destroy: 0 });
  }, 180_000);
});
