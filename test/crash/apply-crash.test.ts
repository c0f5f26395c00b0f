import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The benchmark's generator: 100,000 devices and the 103 sites, groups and policy they refer to.
import { generate } from '../../bench/generate.js';
import { repoRoot, runCli } from '../helpers/cli.js';

/**
 * SIGKILL during `rmm apply` of 100,000 devices, at least 20 times: afterwards the database passes
 * integrity_check and holds exactly the old state or exactly the new one, never a part.
 */
const KILLS = 20;
const NEW_RESOURCES = 100_103;
let dir: string;
let input: string;
let pristine: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-crash-'));
  input = generate(path.join(dir, 'input')).one;
  expect((await runCli(['init'], { cwd: dir })).exitCode).toBe(0);
  pristine = path.join(dir, 'pristine.db');
  copyFileSync(path.join(dir, 'data', 'devices.db'), pristine);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function restore(db: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${db}${suffix}`, { force: true });
  copyFileSync(pristine, db);
}

function inspect(db: string) {
  const conn = new Database(db);
  try {
    const count = (table: string, where = '') =>
      (conn.prepare(`SELECT count(*) AS n FROM ${table} ${where}`).get() as { n: number }).n;
    return {
      integrity: conn.pragma('integrity_check', { simple: true }),
      devices: count('Devices'),
      managed: count('ManagedResources'),
      // rmm init audited its own schema steps; what counts here is what apply wrote.
      audit: count('AuditLog', "WHERE Action LIKE 'apply.%'"),
    };
  } finally {
    conn.close();
  }
}

describe('apply killed with SIGKILL', () => {
  it(`leaves the old state or the new one, whole, ${KILLS} times`, async () => {
    const db = path.join(dir, 'data', 'devices.db');
    const outcomes = { old: 0, new: 0, duringWrite: 0, rolledBack: 0 };
    for (let i = 0; i < KILLS; i++) {
      restore(db);
      const child = execa(
        'node',
        [path.join(repoRoot, 'bin', 'run.js'), 'apply', '-f', input, '--auto-approve'],
        {
          cwd: dir,
          env: { ...process.env, NODE_ENV: undefined, NO_COLOR: '1', RMM_DATA_DIR: undefined },
          reject: false,
          buffer: false,
        },
      );
      // Half the kills at a random moment of the whole run; half at a random moment after the
      // transaction started writing (the WAL file grew), which is when a torn apply could happen.
      const whileWriting = i % 2 === 1;
      const walSize = () => {
        try {
          return statSync(`${db}-wal`).size;
        } catch {
          return 0;
        }
      };
      let writingSince: number | undefined;
      const started = Date.now();
      const delay = whileWriting ? Math.random() * 2500 : Math.random() * 9000;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (whileWriting && writingSince === undefined && walSize() > 0) writingSince = Date.now();
          const from = whileWriting ? writingSince : started;
          if (
            (from !== undefined && Date.now() - from >= delay) ||
            child.exitCode !== null ||
            Date.now() - started > 60_000
          ) {
            clearInterval(timer);
            resolve();
          }
        }, 5);
      });
      const stillRunning = child.exitCode === null;
      if (whileWriting && writingSince !== undefined && stillRunning) outcomes.duringWrite++;
      child.kill('SIGKILL');
      await child;
      const state = inspect(db);
      expect(state.integrity).toBe('ok');
      if (state.devices === 0) {
        expect(state).toEqual({ integrity: 'ok', devices: 0, managed: 0, audit: 0 });
        outcomes.old++;
        if (whileWriting && stillRunning) outcomes.rolledBack++;
      } else {
        expect(state).toEqual({
          integrity: 'ok',
          devices: 100_000,
          managed: NEW_RESOURCES,
          audit: NEW_RESOURCES,
        });
        outcomes.new++;
      }
    }
    console.log(
      `crash test: ${outcomes.old} old, ${outcomes.new} new, ${outcomes.duringWrite} killed while writing, ${outcomes.rolledBack} of them found rolled back`,
    );
    // Some kills must have interrupted the transaction itself (and found it rolled back), not only
    // landed before or after it.
    expect(outcomes.rolledBack).toBeGreaterThanOrEqual(3);
    expect(outcomes.old + outcomes.new).toBe(KILLS);
  }, 600_000);
});
