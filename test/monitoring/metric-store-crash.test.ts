import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { consoleDatabase } from '../helpers/console-db.js';

// A writer killed with SIGKILL in the middle of its batches (needs `npm run build`: the child runs
// dist/): every batch is in the database whole or not at all, and the file passes integrity_check.

const dir = mkdtempSync(path.join(tmpdir(), 'rmm-metric-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BATCH = 20_000;
const KILLS = 5;

describe('a metric writer killed with SIGKILL', { timeout: 120_000 }, () => {
  it(`leaves whole batches only, ${KILLS} times`, async () => {
    for (let kill = 0; kill < KILLS; kill++) {
      const file = path.join(dir, `db-${kill}.db`);
      consoleDatabase(file, ['web-01']).close();
      const child = execa(
        'node',
        [path.join(repoRoot, 'test', 'helpers', 'metric-writer.js'), file, String(BATCH)],
        {
          reject: false,
        },
      );
      // Killed once it has committed 2 + kill batches: the next one is under way by then.
      const committed = await new Promise<number>((resolve, reject) => {
        let seen = 0;
        child.stdout?.on('data', (chunk: Buffer) => {
          seen += chunk.toString().split('\n').filter(Boolean).length;
          if (seen >= 2 + kill) {
            child.kill('SIGKILL');
            resolve(seen);
          }
        });
        child.on('exit', () => reject(new Error('the writer exited before it was killed')));
      });
      const result = await child;
      expect(result.signal).toBe('SIGKILL');

      const db = new Database(file);
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const batches = db
          .prepare('SELECT Value AS batch, count(*) AS rows FROM Metrics GROUP BY Value ORDER BY Value')
          .all() as { batch: number; rows: number }[];
        expect(batches.length).toBeGreaterThanOrEqual(committed);
        expect(batches.every((b, i) => b.batch === i && b.rows === BATCH)).toBe(true);
      } finally {
        db.close();
      }
    }
  });
});
