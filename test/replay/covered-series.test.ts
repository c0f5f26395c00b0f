import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { metricStore } from '../../src/monitoring/metric-store.js';
import type { Sample } from '../../src/monitoring/samples.js';
import { seriesReader } from '../../src/replay/covered-series.js';
import { consoleDatabase } from '../helpers/console-db.js';

/** The replay's reads from a real SQLite file written through the metric store. */
const dir = mkdtempSync(path.join(tmpdir(), 'rmm-covered-series-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sample = (device: string, metric: string, labels: Record<string, string>, at: number): Sample => ({
  device,
  metric,
  labels,
  value: at,
  at,
});

describe('seriesReader', () => {
  const db = consoleDatabase(path.join(dir, 'devices.db'), ['web-01', 'web-02']);
  metricStore(db).insertBatch([
    ...[1, 2, 3, 4].map((at) => sample('web-01', 'disk.used_percent', { mount: '/' }, at)),
    ...[1, 2].map((at) => sample('web-01', 'disk.used_percent', { mount: '/mnt/a,b' }, at)),
    sample('web-01', 'disk.used_percent', { mount: '/var' }, 9),
    ...[1, 2, 3].map((at) => sample('web-01', 'cpu.percent', {}, at)),
    sample('web-02', 'disk.used_percent', { mount: '/' }, 2),
  ]);

  it('finds every instance of each metric asked for on the device, and streams each series in the window', () => {
    const reader = seriesReader(db);
    const window = { since: 2, until: 4 };
    const read = [...reader.seriesOf('web-01', ['disk.used_percent', 'cpu.percent'], window)].map((s) => ({
      metric: s.metric,
      labels: s.labels,
      samples: [...s.samples()],
    }));
    expect(read).toEqual([
      {
        metric: 'disk.used_percent',
        labels: { mount: '/' },
        samples: [
          [2, 2],
          [3, 3],
        ],
      },
      { metric: 'disk.used_percent', labels: { mount: '/mnt/a,b' }, samples: [[2, 2]] },
      { metric: 'disk.used_percent', labels: { mount: '/var' }, samples: [] },
      {
        metric: 'cpu.percent',
        labels: {},
        samples: [
          [2, 2],
          [3, 3],
        ],
      },
    ]);
    expect(reader.rows).toBe(5);
  });

  it('reads no sample of a series whose samples are not iterated', () => {
    const reader = seriesReader(db);
    expect([...reader.seriesOf('web-01', ['disk.used_percent'], { since: 0, until: 10 })]).toHaveLength(3);
    expect(reader.rows).toBe(0);
  });

  it('says whether any sample lies in a window', () => {
    const reader = seriesReader(db);
    expect(reader.anyIn({ since: 0, until: 1 })).toBe(false);
    expect(reader.anyIn({ since: 9, until: 10 })).toBe(true);
    expect(reader.anyIn({ since: 10, until: 100 })).toBe(false);
  });
});
