import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricStore } from '../../src/monitoring/metric-store.js';
import { metricRetention } from '../../src/service/retention.js';
import { consoleDatabase } from '../helpers/console-db.js';

/** Retention on an injected clock against a real SQLite file: past 90 days deleted, at most once an hour. */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-retention-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe('metric retention', () => {
  it('deletes samples older than the retention, at most once an hour, and goes on next tick when a pass is cut', () => {
    const db = consoleDatabase(path.join(dir, 'r.db'), ['web-01']);
    try {
      const store = metricStore(db);
      const now = Date.UTC(2026, 6, 1);
      const at = (age: number) => ({
        device: 'web-01',
        metric: 'cpu.percent',
        labels: {},
        value: 1,
        at: now - age,
      });
      store.insertBatch([at(91 * DAY), at(90 * DAY + 1), at(89 * DAY)]);
      const count = () => db.prepare('SELECT count(*) FROM Metrics').pluck().get();
      const retention = metricRetention(store, { days: 90 });
      expect(retention.run(now)).toMatchObject({ deleted: 2, done: true });
      expect(count()).toBe(1);
      // Within the hour: no pass, even though a row is now past retention.
      store.insertBatch([at(100 * DAY)]);
      expect(retention.run(now + HOUR - 1)).toBeUndefined();
      expect(count()).toBe(2);
      expect(retention.run(now + HOUR)).toMatchObject({ deleted: 1, done: true });

      // A pass cut by its chunk bound is taken up at the next tick, not an hour later.
      store.insertBatch([at(200 * DAY), at(201 * DAY), at(202 * DAY)]);
      const cutStore = metricRetention(
        { deleteOlderThan: (c, o) => store.deleteOlderThan(c, { ...o, chunkRows: 2 }) },
        { days: 90, maxChunks: 1 },
      );
      expect(cutStore.run(now + 2 * HOUR)).toMatchObject({ deleted: 2, done: false });
      expect(cutStore.run(now + 2 * HOUR + 1)).toMatchObject({ deleted: 1, done: true });
      expect(cutStore.run(now + 2 * HOUR + 2)).toBeUndefined();
      expect(count()).toBe(1);
    } finally {
      db.close();
    }
  });
});
