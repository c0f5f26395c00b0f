import { Args, Flags } from '@oclif/core';
import { parseSinceDate } from '../audit/since.js';
import { dataDirFlags, outputFlags, outputFormat, RmmCommand } from '../base-command.js';
import { METRICS, VALUE_KINDS } from '../monitoring/catalogue.js';
import { deviceSamples } from '../monitoring/device-samples.js';
import { summarizeSeries } from '../monitoring/series-summary.js';
import { openResourceDatabase } from '../state/resource-database.js';
import { SPARK_WIDTH, samplesJson, seriesTable } from '../views/metrics.js';

const UNITS = new Map(METRICS.map((m) => [m.name, VALUE_KINDS[m.value].unit]));

export default class Metrics extends RmmCommand {
  static override summary =
    'Show the samples rmm serve stored for a device: one line per series, with a sparkline.';

  static override description = [
    'Reads the Metrics table: every series of the device (or of one metric) since --since (default 1h), one line each: metric{labels}, unit (from the metric catalogue), the last value, min, average and max over the window, how many samples, and a sparkline of the window in 24 slices (each the average of its samples; a gap is a space).',
    '--json gives the raw samples, oldest first: {device, since, truncated, samples: [{metric, labels, value, at}]}. At most --limit samples are read (default 100,000, the oldest of the window); when there were more, truncated is true and stderr says so.',
    'Opens the database read-only. Exit codes: 0 shown, 1 an unknown device or metric (with a did-you-mean) or no samples in the window, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Everything stored of a device in the last hour.',
      command: '<%= config.bin %> <%= command.id %> web-01',
    },
    {
      description: 'One metric over a day, as JSON.',
      command: '<%= config.bin %> <%= command.id %> web-01 disk.used_percent --since 24h --json',
    },
  ];

  static override args = {
    device: Args.string({ description: 'The device name (rmm get devices).', required: true }),
    metric: Args.string({ description: 'Only this metric (see docs/monitoring.md for the catalogue).' }),
  };

  static override flags = {
    ...dataDirFlags,
    since: Flags.string({
      summary: 'Samples since this duration back (30m, 12h, 7d) or time (ISO 8601).',
      default: '1h',
    }),
    limit: Flags.integer({
      char: 'n',
      summary: 'At most this many samples.',
      default: 100_000,
      min: 1,
      max: 1_000_000,
    }),
    ...outputFlags(['table', 'json'], 'table'),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Metrics);
    const now = Date.now();
    const since = parseSinceDate(flags.since, new Date(now)).getTime();
    const { db } = openResourceDatabase(this.dataDir(flags), { readonly: true });
    let read: ReturnType<typeof deviceSamples>;
    try {
      read = deviceSamples(db, {
        device: args.device,
        ...(args.metric === undefined ? {} : { metric: args.metric }),
        since,
        limit: flags.limit,
      });
    } finally {
      db.close();
    }
    if (outputFormat(flags) === 'json')
      this.log(JSON.stringify(samplesJson(args.device, since, read.samples, read.truncated), null, 2));
    else {
      const series = summarizeSeries(read.samples, { from: since, to: now, buckets: SPARK_WIDTH });
      this.log(seriesTable(series, (metric) => UNITS.get(metric) ?? ''));
    }
    if (read.truncated)
      this.logToStderr(
        `Only the oldest ${flags.limit} samples of the window were read; narrow --since, name a METRIC or raise --limit`,
      );
  }
}
