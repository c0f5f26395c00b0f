import type { Db } from '../state/connection.js';
import { canonicalLabels, type Sample } from './samples.js';

/**
 * Samples in the Metrics table: written in batches (one prepared statement, one transaction per
 * batch), read back by series or by time, and deleted by age in short chunks. Collection writes
 * here and nowhere else: no Actions or AuditLog row per device and cycle (100,000 devices a minute
 * would be 144 M of each a day). Every call takes its times as arguments; nothing reads a clock.
 */

/** Rows per transaction unless told otherwise: large enough that a commit's cost is spread thin. */
export const DEFAULT_BATCH_SIZE = 5000;
/** A batch holds the write lock while it runs; past this, an apply beside it waits too long. */
export const MAX_BATCH_SIZE = 50_000;
/** Retention deletes this many rows per statement, each committed alone, so a writer waits little. */
export const DEFAULT_RETENTION_CHUNK = 10_000;

export interface RefusedSample {
  sample: Sample;
  reason: string;
}

export interface BatchResult {
  written: number;
  /** Samples the store cannot hold (a value that is not a finite number, an unknown device), each with why. */
  refused: RefusedSample[];
}

export interface SeriesQuery {
  device: string;
  /** All metrics of the device when absent. */
  metric?: string;
  /** One instance (canonical form, via the labels) when given; every instance otherwise. */
  labels?: Readonly<Record<string, string>>;
  /** Epoch ms, inclusive. */
  since: number;
  /** Epoch ms, exclusive; no bound when absent. */
  until?: number;
  /** At most this many samples, oldest first (bounded: a query never reads a whole table). */
  limit: number;
}

export interface RetentionResult {
  deleted: number;
  chunks: number;
  /** False when rows older than the cutoff are left (maxChunks reached): run it again. */
  done: boolean;
}

export interface MetricStore {
  readonly batchSize: number;
  /** One transaction (BEGIN IMMEDIATE) for at most batchSize samples: all of them or, on error, none. */
  insertBatch(samples: readonly Sample[]): BatchResult;
  query(query: SeriesQuery): Sample[];
  /** Every sample at or after `since`, oldest first, streamed: how the hot tier is warmed on start. */
  forEachSince(since: number, visit: (sample: Sample) => void): number;
  /** Deletes samples older than `cutoff` (epoch ms) in chunks of `chunkRows`, at most `maxChunks` of them. */
  deleteOlderThan(cutoff: number, options?: { chunkRows?: number; maxChunks?: number }): RetentionResult;
}

interface Row {
  DeviceId: string;
  MetricType: string;
  Labels: string;
  Value: number;
  Timestamp: number;
}

export function metricStore(
  db: Db,
  options: { batchSize?: number; units?: ReadonlyMap<string, string> } = {},
): MetricStore {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE)
    throw new Error(`rmm bug: batch size ${batchSize} outside 1..${MAX_BATCH_SIZE}`);
  const units = options.units ?? new Map<string, string>();
  const insert = db.prepare(
    'INSERT INTO Metrics (DeviceId, MetricType, Labels, Value, Unit, Timestamp) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const writeBatch = db.transaction((samples: readonly Sample[]): BatchResult => {
    const refused: RefusedSample[] = [];
    let written = 0;
    for (const sample of samples) {
      const problem = unstorable(sample);
      if (problem !== undefined) {
        refused.push({ sample, reason: problem });
        continue;
      }
      try {
        insert.run(
          sample.device,
          sample.metric,
          canonicalLabels(sample.labels),
          sample.value,
          units.get(sample.metric) ?? null,
          sample.at,
        );
        written++;
      } catch (error) {
        // A device pruned by an apply since it was collected: its samples have nowhere to go. The
        // failed statement alone is undone; the batch goes on.
        if ((error as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_FOREIGNKEY') throw error;
        refused.push({ sample, reason: `device ${sample.device} is not in Devices` });
      }
    }
    return { written, refused };
  });

  const columns = 'SELECT DeviceId, MetricType, Labels, Value, Timestamp FROM Metrics';
  const since = db.prepare(`${columns} WHERE Timestamp >= ? ORDER BY Timestamp`);
  const removeChunk = db.prepare(
    'DELETE FROM Metrics WHERE MetricId IN (SELECT MetricId FROM Metrics WHERE Timestamp < ? ORDER BY Timestamp LIMIT ?)',
  );

  return {
    batchSize,
    insertBatch(samples) {
      if (samples.length > batchSize)
        throw new Error(`rmm bug: ${samples.length} samples in one batch (at most ${batchSize})`);
      if (samples.length === 0) return { written: 0, refused: [] };
      return writeBatch.immediate(samples);
    },
    query(q) {
      const where = ['DeviceId = ?'];
      const params: (string | number)[] = [q.device];
      if (q.metric !== undefined) {
        where.push('MetricType = ?');
        params.push(q.metric);
        if (q.labels !== undefined) {
          where.push('Labels = ?');
          params.push(canonicalLabels(q.labels));
        }
      }
      where.push('Timestamp >= ?');
      params.push(q.since);
      if (q.until !== undefined) {
        where.push('Timestamp < ?');
        params.push(q.until);
      }
      const sql = `${columns} WHERE ${where.join(' AND ')} ORDER BY Timestamp, MetricId LIMIT ?`;
      return (db.prepare(sql).all(...params, boundedLimit(q.limit)) as Row[]).map(sampleOf);
    },
    forEachSince(from, visit) {
      let count = 0;
      for (const row of since.iterate(from) as IterableIterator<Row>) {
        visit(sampleOf(row));
        count++;
      }
      return count;
    },
    deleteOlderThan(cutoff, retention = {}) {
      const chunkRows = retention.chunkRows ?? DEFAULT_RETENTION_CHUNK;
      const maxChunks = retention.maxChunks ?? 1000;
      let deleted = 0;
      for (let chunk = 1; chunk <= maxChunks; chunk++) {
        const removed = removeChunk.run(cutoff, chunkRows).changes;
        deleted += removed;
        if (removed < chunkRows) return { deleted, chunks: chunk, done: true };
      }
      return { deleted, chunks: maxChunks, done: false };
    },
  };
}

/** Why SQLite cannot hold a sample as one (NaN would be stored as NULL and fail the whole batch), or undefined. */
function unstorable(sample: Sample): string | undefined {
  if (typeof sample.device !== 'string' || sample.device === '') return 'no device';
  if (typeof sample.metric !== 'string' || sample.metric === '') return 'no metric';
  if (typeof sample.value !== 'number' || !Number.isFinite(sample.value))
    return `value ${String(sample.value)} is not a finite number`;
  if (!Number.isSafeInteger(sample.at) || sample.at < 0) return `time ${String(sample.at)} is not epoch ms`;
  return undefined;
}

function boundedLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000_000)
    throw new Error(`rmm bug: query limit ${limit} outside 1..10,000,000`);
  return limit;
}

function sampleOf(row: Row): Sample {
  return {
    device: row.DeviceId,
    metric: row.MetricType,
    labels: parseCanonicalLabels(row.Labels),
    value: row.Value,
    at: row.Timestamp,
  };
}

/**
 * The labels of a canonical string. Label names are identifiers, so a pair starts after a comma that
 * a name and `=` follow; a value may itself hold commas (a mount point `/mnt/a,b`).
 */
export function parseCanonicalLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === '') return labels;
  for (const pair of text.split(/,(?=[A-Za-z_][A-Za-z0-9_.]*=)/)) {
    const eq = pair.indexOf('=');
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

/** The retention cutoff for `days` of history at `now` (epoch ms). */
export function retentionCutoff(now: number, days: number): number {
  return now - days * 24 * 60 * 60 * 1000;
}
