import { RmmError } from '../errors.js';
import type { Db } from '../state/connection.js';
import { suggest } from '../suggest.js';
import { METRIC_NAMES, metricNamed } from './catalogue.js';
import { metricStore } from './metric-store.js';
import type { Sample } from './samples.js';

/**
 * The stored samples of one device (and one metric) since a time, for `rmm metrics`: the device and
 * the metric checked first (with a did-you-mean), the read bounded by `limit`. A window with no
 * sample is not-found, as an inventory never collected is: it says where samples come from.
 */
export interface DeviceSamples {
  samples: Sample[];
  /** True when more than `limit` samples were in the window: the oldest `limit` were read. */
  truncated: boolean;
}

export function deviceSamples(
  db: Db,
  query: { device: string; metric?: string; since: number; limit: number },
): DeviceSamples {
  const known = db.prepare('SELECT 1 FROM Devices WHERE DeviceId = ?').get(query.device);
  if (!known) {
    const names = db.prepare('SELECT DeviceId FROM Devices').pluck().all() as string[];
    const near = suggest(query.device, names);
    throw new RmmError(
      'not-found',
      `Device/${query.device} is not in the database${near ? `; did you mean "${near}"?` : ''}`,
    );
  }
  if (query.metric !== undefined && !metricNamed(query.metric)) {
    const near = suggest(query.metric, METRIC_NAMES);
    throw new RmmError(
      'not-found',
      `unknown metric ${JSON.stringify(query.metric)}${near ? `; did you mean "${near}"?` : ''}`,
      {
        details: [`metrics: ${METRIC_NAMES.join(', ')}`],
      },
    );
  }
  const read = metricStore(db).query({
    device: query.device,
    ...(query.metric === undefined ? {} : { metric: query.metric }),
    since: query.since,
    limit: query.limit + 1,
  });
  if (read.length === 0) {
    const what = query.metric === undefined ? 'samples' : `samples of ${query.metric}`;
    throw new RmmError(
      'not-found',
      `Device/${query.device} has no ${what} since ${new Date(query.since).toISOString().slice(0, 19)}Z`,
      {
        details: [
          'rmm serve stores what the monitors of its policies need (rmm get devices NAME --effective); try a longer --since',
        ],
      },
    );
  }
  const truncated = read.length > query.limit;
  return { samples: truncated ? read.slice(0, query.limit) : read, truncated };
}
