import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertStore } from '../../src/monitoring/alert-store.js';
import { metricStore } from '../../src/monitoring/metric-store.js';
import { openDatabase } from '../../src/state/connection.js';
import { runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';
import { queryFile } from '../helpers/sqlite.js';

// Alerts and Metrics are observed state: an apply that changes the devices and policies they belong
// to leaves every row as it was; only pruning a device takes its rows with it, counted in the plan.

let cwd: string;
let repo: string;
const rmm = (...args: string[]) => runCli(args, { cwd });
const dbFile = () => path.join(cwd, 'data', 'devices.db');
const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-observed-'));
  repo = path.join(cwd, 'repo');
  await copyExamples(repo);
  expect((await rmm('init')).exitCode).toBe(0);
  expect((await rmm('apply', '-f', repo, '-R', '--auto-approve')).exitCode).toBe(0);
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const observed = () => ({
  alerts: queryFile(dbFile(), 'SELECT * FROM Alerts ORDER BY AlertId'),
  metrics: queryFile(dbFile(), 'SELECT * FROM Metrics ORDER BY MetricId'),
});

describe('rmm apply and what rmm serve observed', { timeout: 60_000 }, () => {
  it('an apply that changes a device and its policy leaves its Alerts and Metrics rows untouched', async () => {
    const db = openDatabase(dbFile());
    try {
      const alerts = alertStore(db, { now: () => T0 });
      for (const device of ['alpha-web-01', 'alpha-web-02']) {
        alerts.raise(
          {
            device,
            alertType: 'monitor',
            severity: 'Critical',
            title: 'cpu-high',
            message: 'cpu.percent is 97 (> 90)',
            source: 'linux-server-baseline/cpu-high',
            instance: '',
          },
          'rmm-serve',
        );
        metricStore(db).insertBatch([
          { device, metric: 'cpu.percent', labels: {}, value: 97, at: T0 },
          { device, metric: 'disk.used_percent', labels: { mount: '/' }, value: 50, at: T0 },
        ]);
      }
    } finally {
      db.close();
    }
    const before = observed();
    expect(before.alerts).toHaveLength(2);
    expect(before.metrics).toHaveLength(4);

    const devices = path.join(repo, 'devices', 'alpha.yaml');
    await writeFile(
      devices,
      (await readFile(devices, 'utf8')).replace('tags: [prod, web]', 'tags: [prod, web, edited]'),
    );
    const policy = path.join(repo, 'shipped-policies', 'linux-server-baseline.yaml');
    await writeFile(
      policy,
      (await readFile(policy, 'utf8')).replace('value: 90, for: 10m', 'value: 80, for: 10m'),
    );
    const apply = await rmm('apply', '-f', repo, '-R', '--auto-approve');
    expect(apply.exitCode, apply.stderr).toBe(0);
    expect(apply.stdout).toContain('~ Device/alpha-web-01');
    expect(apply.stdout).toContain('~ Policy/linux-server-baseline');
    expect(observed()).toEqual(before);
  });

  it('pruning a device counts its Alerts and Metrics rows in the plan and deletes them with it', async () => {
    const devices = path.join(repo, 'devices', 'alpha.yaml');
    const docs = (await readFile(devices, 'utf8')).split(/^---\n/m);
    await writeFile(devices, docs.filter((d) => !d.includes('name: alpha-web-01\n')).join('---\n'));
    const plan = await rmm('plan', '-f', repo, '-R', '--prune');
    expect(plan.stdout).toContain('1 Alerts row, 2 Metrics rows');
    expect((await rmm('apply', '-f', repo, '-R', '--prune', '--auto-approve')).exitCode).toBe(0);
    const left = observed();
    expect(left.alerts.map((a) => (a as { DeviceId: string }).DeviceId)).toEqual(['alpha-web-02']);
    expect(left.metrics.map((m) => (m as { DeviceId: string }).DeviceId)).toEqual([
      'alpha-web-02',
      'alpha-web-02',
    ]);
  });
});
