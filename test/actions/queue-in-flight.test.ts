import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IN_FLIGHT_SQL, queueStore } from '../../src/actions/queue-store.js';
import { actionStore } from '../../src/actions/store.js';
import { consoleDatabase } from '../helpers/console-db.js';

/**
 * rmm exec asks, on every pass of its wait, which of its actions a route still holds. On a real
 * console database with a route's history of ended actions, the answer must come from the rows in
 * flight, not from a walk over everything the route ever carried.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-in-flight-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KEY = { transport: 'relay', route: 'relay-alpha' };

describe('queue.inFlight', () => {
  it('lists the Delivered and Running actions of the route only, reading Actions by status first', () => {
    const db = consoleDatabase(path.join(dir, 'devices.db'), ['web-01']);
    try {
      const store = actionStore(db, 'tester');
      const queue = queueStore(db, 'tester');
      const payload = { command: 'true', timeoutMs: 1000, connectTimeoutMs: 1000 };
      const ids = store.create('exec', Array(300).fill('web-01'), payload, { priority: 5, owned: true });
      const expiresAt = new Date(Date.now() + 3600_000).toISOString();
      const other = { transport: 'relay', route: 'relay-beta' };
      queue.recordIntents(ids.map((actionId, i) => ({ actionId, key: i === 0 ? other : KEY, expiresAt })));
      queue.markDelivered(ids.map((actionId, i) => ({ actionId, receipt: String(i + 1) })));
      // History: every action of the route but two ended; one of those two has started.
      const [, running, delivered] = ids as [string, string, string];
      for (const id of ids.slice(3)) {
        const row = queue.row(id);
        if (row) queue.finish(row, 'Succeeded', { exitCode: 0, durationMs: 1 });
      }
      queue.started(running);
      expect(queue.inFlight(KEY).sort()).toEqual([running, delivered].sort());
      expect(queue.inFlight(other)).toEqual([ids[0]]);

      const plan = db.prepare(`EXPLAIN QUERY PLAN ${IN_FLIGHT_SQL}`).all(KEY.transport, KEY.route) as Array<{
        detail: string;
      }>;
      expect(plan[0]?.detail).toMatch(/^SEARCH a USING INDEX idx_actions_status/);
    } finally {
      db.close();
    }
  });
});
