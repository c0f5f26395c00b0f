import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { metricStore, parseCanonicalLabels, retentionCutoff } from '../../src/monitoring/metric-store.js';
import { writeSamples } from '../../src/monitoring/sample-writer.js';
import type { Sample } from '../../src/monitoring/samples.js';
import { canonicalLabels, sampleSeriesKey } from '../../src/monitoring/samples.js';
import { consoleDatabase } from '../helpers/console-db.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rmm-metric-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const newFile = () => path.join(dir, `db-${++counter}.db`);

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const MINUTE = 60_000;
const sample = (
  device: string,
  metric: string,
  labels: Record<string, string>,
  value: number,
  at: number,
): Sample => ({
  device,
  metric,
  labels,
  value,
  at,
});

describe('samples', () => {
  it('canonical labels are sorted by name; the series key joins device, metric and labels with NUL', () => {
    expect(canonicalLabels({})).toBe('');
    expect(canonicalLabels({ name: 'sshd', mount: '/' })).toBe('mount=/,name=sshd');
    expect(sampleSeriesKey({ device: 'web-01', metric: 'disk.used_percent', labels: { mount: '/' } })).toBe(
      'web-01\u0000disk.used_percent\u0000mount=/',
    );
  });

  it('canonical labels read back whole, a comma inside a value included', () => {
    const cases: Record<string, string>[] = [
      {},
      { mount: '/' },
      { mount: '/mnt/a,b', name: 'x=y' },
      { port: '22' },
    ];
    for (const labels of cases) {
      expect(parseCanonicalLabels(canonicalLabels(labels))).toEqual(labels);
    }
  });
});

describe('metricStore against a real SQLite file', () => {
  it('writes samples with their labels and reads each series back since T, oldest first', () => {
    const db = consoleDatabase(newFile(), ['web-01', 'web-02']);
    try {
      const store = metricStore(db, { units: new Map([['disk.used_percent', 'percent']]) });
      const samples = [
        sample('web-01', 'disk.used_percent', { mount: '/' }, 40, T0),
        sample('web-01', 'disk.used_percent', { mount: '/var' }, 70, T0),
        sample('web-01', 'disk.used_percent', { mount: '/' }, 41, T0 + MINUTE),
        sample('web-01', 'cpu.percent', {}, 3.5, T0 + MINUTE),
        sample('web-02', 'disk.used_percent', { mount: '/' }, 90, T0 + MINUTE),
        sample('web-01', 'disk.used_percent', { mount: '/' }, 42, T0 + 2 * MINUTE),
      ];
      expect(store.insertBatch(samples)).toEqual({ written: 6, refused: [] });

      expect(
        store.query({
          device: 'web-01',
          metric: 'disk.used_percent',
          labels: { mount: '/' },
          since: T0 + MINUTE,
          limit: 100,
        }),
      ).toEqual([samples[2], samples[5]]);
      expect(store.query({ device: 'web-01', metric: 'disk.used_percent', since: 0, limit: 100 })).toEqual([
        samples[0],
        samples[1],
        samples[2],
        samples[5],
      ]);
      expect(store.query({ device: 'web-01', since: T0, until: T0 + 2 * MINUTE, limit: 2 })).toEqual([
        samples[0],
        samples[1],
      ]);
      const warmed: Sample[] = [];
      expect(store.forEachSince(T0 + MINUTE, (s) => warmed.push(s))).toBe(4);
      expect(warmed.map((s) => s.value)).toEqual([41, 3.5, 90, 42]);
      expect(
        db.prepare("SELECT DISTINCT Unit FROM Metrics WHERE MetricType = 'disk.used_percent'").pluck().all(),
      ).toEqual(['percent']);
    } finally {
      db.close();
    }
  });

  it('refuses per sample what SQLite cannot hold (NaN, Infinity, an unknown device) and writes the rest of the batch', () => {
    const db = consoleDatabase(newFile(), ['web-01']);
    try {
      const store = metricStore(db);
      const result = store.insertBatch([
        sample('web-01', 'cpu.percent', {}, 1, T0),
        sample('web-01', 'cpu.percent', {}, Number.NaN, T0),
        sample('web-01', 'cpu.percent', {}, Number.POSITIVE_INFINITY, T0),
        sample('gone-01', 'cpu.percent', {}, 2, T0),
        sample('web-01', 'cpu.percent', {}, 3, Number.NaN),
        sample('web-01', 'cpu.percent', {}, 4, T0 + 1),
      ]);
      expect(result.written).toBe(2);
      expect(result.refused.map((r) => r.reason)).toEqual([
        'value NaN is not a finite number',
        'value Infinity is not a finite number',
        'device gone-01 is not in Devices',
        'time NaN is not epoch ms',
      ]);
      expect(db.prepare('SELECT Value FROM Metrics ORDER BY MetricId').pluck().all()).toEqual([1, 4]);
    } finally {
      db.close();
    }
  });

  it('keeps a batch within its bound, and writeSamples splits a cycle into batches', async () => {
    const db = consoleDatabase(newFile(), ['web-01']);
    try {
      const store = metricStore(db, { batchSize: 4 });
      const samples = Array.from({ length: 10 }, (_, i) => sample('web-01', 'cpu.percent', {}, i, T0 + i));
      expect(() => store.insertBatch(samples)).toThrow(/10 samples in one batch \(at most 4\)/);
      expect(() => metricStore(db, { batchSize: 0 })).toThrow(/batch size 0/);
      const outcome = await writeSamples(store, samples, { pause: async () => {} });
      expect(outcome).toEqual({ written: 10, refused: [], unwritten: [], busyTries: 0 });
    } finally {
      db.close();
    }
  });

  it('retention deletes what is older than the cutoff in bounded chunks, and only that', () => {
    const db = consoleDatabase(newFile(), ['web-01']);
    try {
      const store = metricStore(db);
      const now = T0 + 100 * 24 * 60 * MINUTE;
      const cutoff = retentionCutoff(now, 90);
      expect(cutoff).toBe(T0 + 10 * 24 * 60 * MINUTE);
      const old = Array.from({ length: 25 }, (_, i) =>
        sample('web-01', 'cpu.percent', {}, i, cutoff - 1 - i),
      );
      const kept = Array.from({ length: 5 }, (_, i) =>
        sample('web-01', 'cpu.percent', {}, 100 + i, cutoff + i),
      );
      store.insertBatch([...old, ...kept]);
      expect(store.deleteOlderThan(cutoff, { chunkRows: 10, maxChunks: 2 })).toEqual({
        deleted: 20,
        chunks: 2,
        done: false,
      });
      expect(store.deleteOlderThan(cutoff, { chunkRows: 10, maxChunks: 2 })).toEqual({
        deleted: 5,
        chunks: 1,
        done: true,
      });
      expect(store.deleteOlderThan(cutoff, { chunkRows: 10 })).toEqual({ deleted: 0, chunks: 1, done: true });
      expect(store.query({ device: 'web-01', since: 0, limit: 100 })).toEqual(kept);
    } finally {
      db.close();
    }
  });
});

describe('writing beside another writer that holds the lock', () => {
  /** The store's connection gives up at once when locked (busy_timeout 0), so no test waits. */
  function twoWriters(devices: string[]) {
    const file = newFile();
    const db = consoleDatabase(file, devices);
    db.pragma('busy_timeout = 0');
    const other = new Database(file);
    return { db, other };
  }
  const cycle = Array.from({ length: 12 }, (_, i) => sample('web-01', 'cpu.percent', {}, i, T0 + i));

  it('waits its pauses while the lock is held, then writes everything once it is released', async () => {
    const { db, other } = twoWriters(['web-01']);
    try {
      const store = metricStore(db, { batchSize: 5 });
      other.exec('BEGIN IMMEDIATE');
      const pauses: number[] = [];
      const outcome = await writeSamples(store, cycle, {
        delays: [1000, 1000, 1000],
        pause: async (ms) => {
          pauses.push(ms);
          if (pauses.length === 2) other.exec('COMMIT');
        },
      });
      expect(pauses).toEqual([1000, 1000]);
      expect(outcome).toEqual({ written: 12, refused: [], unwritten: [], busyTries: 2 });
      expect(db.prepare('SELECT Value FROM Metrics ORDER BY MetricId').pluck().all()).toEqual(
        cycle.map((s) => s.value),
      );
    } finally {
      other.close();
      db.close();
    }
  });

  it('past the last try hands back what is unwritten, keeps the batches written before, and never throws', async () => {
    const { db, other } = twoWriters(['web-01']);
    try {
      const real = metricStore(db, { batchSize: 5 });
      // Fault injection: the other writer takes the lock right after the first batch commits.
      const store = {
        ...real,
        insertBatch(batch: readonly Sample[]) {
          const result = real.insertBatch(batch);
          other.exec('BEGIN IMMEDIATE');
          return result;
        },
      };
      let pauses = 0;
      const outcome = await writeSamples(store, cycle, {
        delays: [1000, 1000],
        pause: async () => void pauses++,
      });
      expect(outcome).toEqual({ written: 5, refused: [], unwritten: cycle.slice(5), busyTries: 3 });
      expect(pauses).toBe(2);
      other.exec('ROLLBACK');
      expect(db.prepare('SELECT Value FROM Metrics ORDER BY MetricId').pluck().all()).toEqual([
        0, 1, 2, 3, 4,
      ]);
    } finally {
      other.close();
      db.close();
    }
  });
});
