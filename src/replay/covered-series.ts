import { parseCanonicalLabels } from '../monitoring/metric-store.js';
import type { Db } from '../state/connection.js';
import type { ReplaySeries, ReplayWindow } from './replay-device.js';

/**
 * The stored series a replay reads, straight from Metrics by its index idx_metrics_series
 * (DeviceId, MetricType, Labels, Timestamp): a device's instances of a metric are found by seeking
 * from one Labels value to the next (never scanning their samples), and a series' samples in the
 * window are one range of the index, streamed row by row. Only reads.
 */

/** Instances of one metric on one device read at most: a bound on a table edited by hand. */
export const MAX_INSTANCES = 10_000;

export interface SeriesReader {
  /** The series of these metrics on the device; their samples are read when iterated. */
  seriesOf(device: string, metrics: Iterable<string>, window: ReplayWindow): Generator<ReplaySeries>;
  /** Whether any sample lies in the window (idx_metrics_timestamp: one seek). */
  anyIn(window: ReplayWindow): boolean;
  /** Samples read so far. */
  readonly rows: number;
}

export function seriesReader(db: Db): SeriesReader {
  const nextInstance = db
    .prepare(
      'SELECT Labels FROM Metrics WHERE DeviceId = ? AND MetricType = ? AND Labels > ? ORDER BY Labels LIMIT 1',
    )
    .pluck();
  const noLabels = db
    .prepare("SELECT 1 FROM Metrics WHERE DeviceId = ? AND MetricType = ? AND Labels = '' LIMIT 1")
    .pluck();
  const samples = db
    .prepare(
      'SELECT Timestamp, Value FROM Metrics WHERE DeviceId = ? AND MetricType = ? AND Labels = ? AND Timestamp >= ? AND Timestamp < ? ORDER BY Timestamp',
    )
    .raw();
  const any = db.prepare('SELECT 1 FROM Metrics WHERE Timestamp >= ? AND Timestamp < ? LIMIT 1').pluck();
  let rows = 0;
  function* stream(device: string, metric: string, labels: string, window: ReplayWindow) {
    for (const row of samples.iterate(device, metric, labels, window.since, window.until) as Iterable<
      [number, number]
    >) {
      rows++;
      yield row;
    }
  }
  return {
    get rows() {
      return rows;
    },
    anyIn(window) {
      return any.get(window.since, window.until) !== undefined;
    },
    *seriesOf(device, metrics, window) {
      for (const metric of metrics) {
        const instances: string[] = noLabels.get(device, metric) === undefined ? [] : [''];
        for (let at = ''; instances.length < MAX_INSTANCES; ) {
          const next = nextInstance.get(device, metric, at) as string | undefined;
          if (next === undefined) break;
          instances.push(next);
          at = next;
        }
        for (const labels of instances)
          yield {
            metric,
            labels: parseCanonicalLabels(labels),
            samples: () => stream(device, metric, labels, window),
          };
      }
    },
  };
}
