import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertStore } from '../../src/monitoring/alert-store.js';
import type { Transition } from '../../src/monitoring/alert-transitions.js';
import { metricStore } from '../../src/monitoring/metric-store.js';
import type { Sample } from '../../src/monitoring/samples.js';
import { memoryLog } from '../../src/service/service-log.js';
import { alertKeyOf, storedAlertSink, storedSampleSink } from '../../src/service/stored-sinks.js';
import { consoleDatabase } from '../helpers/console-db.js';

/**
 * The service's sinks beside another writer holding the lock (a second real connection on the same
 * file): nothing thrown, what is unwritten logged and kept for the next cycle within a bound.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-sinks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 0, 1);
const sample = (i: number): Sample => ({
  device: 'web-01',
  metric: 'cpu.percent',
  labels: {},
  value: i,
  at: T0 + i,
});

/** The sinks' connection gives up at once when locked (busy_timeout 0), and one try each: no waits. */
function lockedBeside(name: string) {
  const file = path.join(dir, `${name}.db`);
  const db = consoleDatabase(file, ['web-01']);
  db.pragma('busy_timeout = 0');
  const other = new Database(file);
  return { db, other, log: memoryLog(), retry: { delays: [] as number[], pause: async () => {} } };
}

describe('stored sinks beside a held write lock', () => {
  it('keeps the samples a lock kept out, writes them with the next cycle, and drops the oldest past its bound', async () => {
    const { db, other, log, retry } = lockedBeside('samples');
    try {
      const sink = storedSampleSink(metricStore(db), { ...retry, log, maxHeld: 3 });
      other.exec('BEGIN IMMEDIATE');
      await sink.write([sample(1), sample(2)]);
      expect(sink.held()).toBe(2);
      await sink.write([sample(3), sample(4)]);
      expect(sink.held()).toBe(3);
      expect(log.lines.map((l) => l.message)).toContain(
        '1 samples kept from earlier cycles were dropped (bound 3)',
      );
      other.exec('COMMIT');
      await sink.write([sample(5)]);
      expect(sink.held()).toBe(0);
      expect(db.prepare('SELECT Value FROM Metrics ORDER BY Timestamp').pluck().all()).toEqual([2, 3, 4, 5]);
    } finally {
      other.close();
      db.close();
    }
  });

  it('keeps alert changes a lock kept out and applies them, in order, with the next cycle', async () => {
    const { db, other, log, retry } = lockedBeside('alerts');
    try {
      const store = alertStore(db, { now: () => T0 });
      const sink = storedAlertSink(store, { ...retry, log, actor: 'serve-test' });
      expect(sink.open()).toEqual([]);
      const key = { device: 'web-01', policy: 'base', monitor: 'cpu', instance: '' };
      const fire: Transition = {
        kind: 'fire',
        key,
        alertType: 'monitor',
        severity: 'Warning',
        title: 'cpu on web-01: cpu.percent > 90',
        message: 'cpu.percent is 95',
        source: 'base/cpu',
        metric: 'cpu.percent',
        op: '>',
        threshold: 90,
        value: 95,
        at: T0,
      };
      const resolve: Transition = {
        kind: 'resolve',
        key,
        reason: 'cleared',
        message: 'cleared',
        value: 1,
        at: T0,
      };
      other.exec('BEGIN IMMEDIATE');
      await sink.apply([fire], T0);
      expect(sink.held()).toBe(1);
      other.exec('COMMIT');
      await sink.apply([resolve], T0);
      expect(sink.held()).toBe(0);
      expect(db.prepare('SELECT Source, ResolvedBy, AutoResolved FROM Alerts').all()).toEqual([
        { Source: 'base/cpu', ResolvedBy: 'rmm serve', AutoResolved: 1 },
      ]);
    } finally {
      other.close();
      db.close();
    }
  });

  it('reads an alert key back from its Source and Instance', () => {
    expect(alertKeyOf({ device: 'd', source: 'base/disk-root', instance: 'mount=/' })).toEqual({
      device: 'd',
      policy: 'base',
      monitor: 'disk-root',
      instance: 'mount=/',
    });
    expect(alertKeyOf({ device: 'd', source: 'rmm/device-offline', instance: '' })).toEqual({
      device: 'd',
      policy: '',
      monitor: 'device-offline',
      instance: '',
    });
  });
});
