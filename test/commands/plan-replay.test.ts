import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricStore } from '../../src/monitoring/metric-store.js';
import type { Sample } from '../../src/monitoring/samples.js';
import { openDatabase } from '../../src/state/connection.js';
import { runCli } from '../helpers/cli.js';

/**
 * rmm plan's threshold replay through the real CLI on a real SQLite file: samples written through
 * the metric store, a policy whose threshold is lowered, a monitor added and one removed.
 */
let cwd: string;
const rmm = (...args: string[]) => runCli(args, { cwd });
const MIN = 60_000;

const fleet = (monitors: string) => `apiVersion: rmm/v1
kind: Policy
metadata: {name: linux}
spec:
  monitors:
${monitors}
---
apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: servers}
spec: {policy: linux}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: web-01}
spec: {site: main, address: 127.0.0.1, os: linux, groups: [servers]}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: web-02}
spec: {site: main, address: 127.0.0.1, os: linux, groups: [servers]}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: lab-01}
spec: {site: main, address: 127.0.0.1, os: linux}
`;
const CPU = (value: number) =>
  `    - {name: cpu-high, metric: cpu.percent, when: {op: ">", value: ${value}}, severity: Warning, autoResolve: true}`;
const DISK =
  '    - {name: root-full, metric: disk.used_percent, match: {mount: /}, when: {op: ">", value: 95}, severity: Critical}';
const MEM =
  '    - {name: mem-high, metric: memory.used_percent, when: {op: ">", value: 70, for: 2m}, severity: Warning, autoResolve: true}';

/** A day of one sample a minute, from two days ago to one day ago. */
function day(device: string, metric: string, value: (minute: number) => number, start: number): Sample[] {
  return Array.from({ length: 1440 }, (_, m) => ({
    device,
    metric,
    labels: {},
    value: value(m),
    at: start + m * MIN,
  }));
}

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-plan-replay-'));
  await writeFile(path.join(cwd, 'before.yaml'), fleet([CPU(90), DISK].join('\n')));
  await writeFile(path.join(cwd, 'after.yaml'), fleet([CPU(80), MEM].join('\n')));
  expect((await rmm('init')).exitCode).toBe(0);
  const applied = await rmm('apply', '-f', 'before.yaml', '--auto-approve');
  expect(applied.exitCode, applied.stderr).toBe(0);
  // Half a minute after a whole minute from now: a window that starts a whole number of minutes back
  // from the plan's own clock (read a few seconds later) keeps the same samples.
  const start = Date.now() - 2 * 1440 * MIN + 30_000;
  const samples = [
    // 85 for 3 minutes every 100 minutes (15 bursts), and one 95 at minute 550: at 90 one alert, at 80 sixteen.
    ...day('web-01', 'cpu.percent', (m) => (m === 550 ? 95 : m % 100 < 3 ? 85 : 40), start),
    ...day('web-02', 'cpu.percent', () => 50, start),
    // Above 70 from minute 600 to 610: one alert of the new mem-high (for 2m).
    ...day('web-02', 'memory.used_percent', (m) => (m >= 600 && m <= 610 ? 75 : 60), start),
    // Not covered by any changed monitor: never read.
    ...day('lab-01', 'cpu.percent', () => 99, start),
    ...day('web-01', 'disk.used_percent', () => 99, start),
    // Before the 7-day window.
    ...day('web-01', 'cpu.percent', () => 99, start - 6 * 1440 * MIN),
  ];
  const db = openDatabase(path.join(cwd, 'data', 'devices.db'));
  try {
    const store = metricStore(db);
    for (let i = 0; i < samples.length; i += store.batchSize)
      expect(store.insertBatch(samples.slice(i, i + store.batchSize)).refused).toEqual([]);
  } finally {
    db.close();
  }
}, 60_000);
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm plan: threshold replay', () => {
  it('prints per changed monitor what it would have fired and what it fires now, and the devices whose monitors change', async () => {
    const result = await rmm('plan', '-f', 'after.yaml');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      "Devices affected: 0 change site, 0 change groups, 0 change effective policy; 2 devices' effective monitors change.",
    );
    // web-01 and web-02's cpu (1,440 each) and web-02's memory: not lab-01's, not the disk, not older rows.
    expect(result.stdout).toContain(
      'Replay of the last 7d of stored samples (4320 read, from the series these monitors cover):\n' +
        '  linux/cpu-high: would have fired 16 alerts on 1 device over 7d (now: 1 on 1)\n' +
        '  linux/mem-high (new): would have fired 1 alert on 1 device over 7d (now: none)\n',
    );
    expect(result.stdout).not.toContain('root-full:');
  });

  it('--json carries the replay and the count in the blast radius', async () => {
    const result = await rmm('plan', '-f', 'after.yaml', '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.blastRadius).toEqual({ site: 0, groups: 0, policy: 0, monitors: 2, relays: [] });
    expect(json.replay).toMatchObject({ duration: '7d', samplesStored: true, samplesRead: 4320 });
    expect(json.replay.monitors).toEqual([
      {
        policy: 'linux',
        monitor: 'cpu-high',
        added: false,
        devices: 2,
        wouldFire: { alerts: 16, devices: 1 },
        now: { alerts: 1, devices: 1 },
      },
      {
        policy: 'linux',
        monitor: 'mem-high',
        added: true,
        devices: 2,
        wouldFire: { alerts: 1, devices: 1 },
        now: null,
      },
    ]);
  });

  it('a window with no samples says so in one line; --no-replay says nothing', async () => {
    const recent = await rmm('plan', '-f', 'after.yaml', '--replay', '1h');
    expect(recent.exitCode, recent.stderr).toBe(0);
    expect(recent.stdout).toContain(
      'Replay: no samples stored in the last 1h; nothing to replay (rmm serve stores them).',
    );
    const none = await rmm('plan', '-f', 'after.yaml', '--no-replay');
    expect(none.exitCode, none.stderr).toBe(0);
    expect(none.stdout).not.toContain('Replay');
    expect(none.stdout).toContain("2 devices' effective monitors change");
    const json = JSON.parse((await rmm('plan', '-f', 'after.yaml', '--no-replay', '--json')).stdout);
    expect(json.replay).toBeNull();
  });

  it('a shorter --replay reads a shorter window', async () => {
    const json = JSON.parse((await rmm('plan', '-f', 'after.yaml', '--replay', '36h', '--json')).stdout);
    // From 36 hours ago: the last 12 hours of the stored day, minutes 720 to 1439.
    expect(json.replay.samplesRead).toBe(3 * 720);
    expect(json.replay.monitors.map((m: { wouldFire: { alerts: number } }) => m.wouldFire.alerts)).toEqual([
      7, 0,
    ]);
  });

  it.each([['soon'], ['0s'], ['-1d'], ['7 days']])(
    'refuses --replay %s with a clear message, exit 64',
    async (value) => {
      const result = await rmm('plan', '-f', 'after.yaml', `--replay=${value}`);
      expect(result.exitCode).toBe(64);
      expect(result.stderr).toContain(
        `--replay ${JSON.stringify(value)}: not a duration; give one such as 30m, 24h or 7d`,
      );
      expect(result.stdout).toBe('');
    },
  );

  it('refuses --replay with --no-replay', async () => {
    const result = await rmm('plan', '-f', 'after.yaml', '--replay', '1d', '--no-replay');
    expect(result.exitCode).toBe(64);
    expect(result.stderr).toMatch(
      /--no-replay=true cannot also be provided when using --replay|cannot also be provided/,
    );
  });

  it('a saved plan holds no replay, and apply does not replay', async () => {
    const saved = await rmm('plan', '-f', 'after.yaml', '--out', 'plan.json');
    expect(saved.exitCode, saved.stderr).toBe(0);
    const text = await readFile(path.join(cwd, 'plan.json'), 'utf8');
    expect(text).not.toMatch(/replay|wouldFire/i);
    const applied = await rmm('apply', 'plan.json', '--auto-approve');
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("2 devices' effective monitors change");
    expect(applied.stdout).not.toContain('Replay');
  });
});
