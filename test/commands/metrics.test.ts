import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricStore } from '../../src/monitoring/metric-store.js';
import type { Sample } from '../../src/monitoring/samples.js';
import { openDatabase } from '../../src/state/connection.js';
import { runCli } from '../helpers/cli.js';

/**
 * rmm metrics through the real CLI on a real SQLite file, samples written through the metric store
 * as rmm serve writes them, at times counted back from now (the command's window ends at its now).
 */
let cwd: string;
const rmm = (...args: string[]) => runCli(args, { cwd });
const dbFile = () => path.join(cwd, 'data', 'devices.db');
const ESC = '\u001b';
const MIN = 60_000;
const NOW = Date.now();

const device = (name: string) =>
  `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec: {site: main, address: 127.0.0.1, os: linux}\n`;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-metrics-'));
  await writeFile(path.join(cwd, 'fleet.yaml'), `${device('web-01')}---\n${device('web-02')}`);
  expect((await rmm('init')).exitCode).toBe(0);
  expect((await rmm('apply', '-f', 'fleet.yaml', '--auto-approve')).exitCode).toBe(0);
  const samples: Sample[] = [];
  // cpu.percent rising over the last 48 minutes, one sample a minute, 0 to 94.
  for (let i = 0; i < 48; i++)
    samples.push({
      device: 'web-01',
      metric: 'cpu.percent',
      labels: {},
      value: i * 2,
      at: NOW - (48 - i) * MIN,
    });
  for (const at of [NOW - 30 * MIN, NOW - 10 * MIN])
    samples.push({ device: 'web-01', metric: 'disk.used_percent', labels: { mount: '/' }, value: 41.25, at });
  samples.push({
    device: 'web-01',
    metric: 'disk.free_bytes',
    labels: { mount: '/' },
    value: 82_734_804_992,
    at: NOW - 5 * MIN,
  });
  samples.push({
    device: 'web-01',
    metric: 'disk.used_percent',
    labels: { mount: `/mnt/${ESC}[2Jx` },
    value: 7,
    at: NOW - 5 * MIN,
  });
  // Older than the default hour.
  samples.push({
    device: 'web-01',
    metric: 'uptime.seconds',
    labels: {},
    value: 3600,
    at: NOW - 2 * 60 * MIN,
  });
  const db = openDatabase(dbFile());
  try {
    expect(metricStore(db).insertBatch(samples).written).toBe(samples.length);
  } finally {
    db.close();
  }
}, 60_000);
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm metrics', () => {
  it('shows one line per series with unit, last, min, avg, max, count and a sparkline', async () => {
    const result = await rmm('metrics', 'web-01');
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SERIES\s+UNIT\s+LAST\s+MIN\s+AVG\s+MAX\s+SAMPLES\s+TREND$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([
      'cpu.percent',
      'disk.free_bytes{mount=/}',
      'disk.used_percent{mount=/}',
      'disk.used_percent{mount=/mnt/\\u001b[2Jx}',
    ]);
    expect(lines[1]).toMatch(/^cpu\.percent\s+%\s+94\s+0\s+47\s+94\s+48\s+ {4,6}▁/);
    // The sparkline of a rising series rises, left to right, and ends at the top.
    const spark = (lines[1] as string).slice(lines[0]?.indexOf('TREND'));
    expect(spark).toHaveLength(24);
    expect(spark.trimEnd().endsWith('█')).toBe(true);
    const bars = [...spark.trim()];
    expect(bars).toEqual([...bars].sort());
    expect(lines[2]).toMatch(/^disk\.free_bytes\{mount=\/\}\s+B\s+82734804992\s/);
    expect(lines[3]).toMatch(/^disk\.used_percent\{mount=\/\}\s+%\s+41\.25\s+41\.25\s+41\.25\s+41\.25\s+2\s/);
    expect(result.stdout).not.toContain(ESC);
  });

  it('one metric, a longer --since, and --json with the raw samples', async () => {
    const text = await rmm('metrics', 'web-01', 'uptime.seconds', '--since', '3h');
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/\nuptime\.seconds\s+s\s+3600\s/);
    const json = JSON.parse((await rmm('metrics', 'web-01', 'disk.used_percent', '--json')).stdout);
    expect(json).toEqual({
      device: 'web-01',
      since: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      truncated: false,
      samples: [
        {
          metric: 'disk.used_percent',
          labels: { mount: '/' },
          value: 41.25,
          at: new Date(NOW - 30 * MIN).toISOString(),
        },
        {
          metric: 'disk.used_percent',
          labels: { mount: `/mnt/${ESC}[2Jx` },
          value: 7,
          at: new Date(NOW - 5 * MIN).toISOString(),
        },
        {
          metric: 'disk.used_percent',
          labels: { mount: '/' },
          value: 41.25,
          at: new Date(NOW - 10 * MIN).toISOString(),
        },
      ].sort((a, b) => a.at.localeCompare(b.at)),
    });
  });

  it('a read is bounded by --limit, and says so', async () => {
    const result = await rmm('metrics', 'web-01', 'cpu.percent', '-n', '10', '-o', 'json');
    expect(result.exitCode).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.truncated).toBe(true);
    expect(json.samples).toHaveLength(10);
    expect(result.stderr).toContain('Only the oldest 10 samples of the window were read');
  });

  it('unknown devices and metrics, an empty window and bad flags are refused clearly', async () => {
    const cases: Array<[string[], number, string]> = [
      [['web-1'], 1, 'Error: Device/web-1 is not in the database; did you mean "web-01"?'],
      [['nothing-like-it'], 1, 'Error: Device/nothing-like-it is not in the database'],
      [
        ['web-01', 'cpu.pecent'],
        1,
        'Error: unknown metric "cpu.pecent"; did you mean "cpu.percent"?\n  metrics: cpu.percent, ',
      ],
      [['web-02'], 1, 'Error: Device/web-02 has no samples since '],
      [['web-01', 'load.1m'], 1, 'Error: Device/web-01 has no samples of load.1m since '],
      [['web-01', '--since', '5x'], 64, 'Error: --since "5x": not a duration'],
      [['web-01', '--since', 'yesterday'], 64, 'Error: --since "yesterday": not an ISO 8601 date-time'],
    ];
    for (const [args, code, message] of cases) {
      const result = await rmm('metrics', ...args);
      expect(result.exitCode, args.join(' ')).toBe(code);
      expect(result.stderr, args.join(' ')).toContain(message);
      expect(result.stdout, args.join(' ')).toBe('');
    }
  });
});
