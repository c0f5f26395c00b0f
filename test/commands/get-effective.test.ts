import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { execFile } from '../helpers/sqlite.js';

/**
 * rmm get devices NAME --effective through the real CLI: a device's effective monitors and schedules
 * from the applied site, groups and policies, each with the policy and the holder it came from,
 * and each value an override changed with the override's holder.
 */
let cwd: string;
const rmm = (...args: string[]) => runCli(args, { cwd });

const YAML = `apiVersion: rmm/v1
kind: Site
metadata: {name: main}
spec:
  policies: [memory]
  overrides:
    - {monitor: mem-high, when: {value: 92}}
---
apiVersion: rmm/v1
kind: Policy
metadata: {name: memory}
spec:
  monitors:
    - {name: mem-high, metric: memory.used_percent, when: {op: ">", value: 90}, severity: Warning}
    - {name: mem-full, metric: memory.used_percent, when: {op: ">", value: 99}, severity: Critical, enforced: true}
---
apiVersion: rmm/v1
kind: Policy
metadata: {name: baseline}
spec:
  interval: 2m
  monitors:
    - {name: cpu-high, metric: cpu.percent, when: {op: ">", value: 90, for: 5m}, severity: Critical, autoResolve: true}
    - {name: root-disk, metric: disk.used_percent, match: {mount: /}, interval: 5m, when: {op: ">=", value: 85}, severity: Warning}
  schedules:
    - {action: inventory, every: 24h}
---
apiVersion: rmm/v1
kind: Policy
metadata: {name: web}
spec:
  monitors:
    - {name: cpu-web, metric: cpu.percent, when: {op: ">", value: 80}, severity: Warning}
  schedules:
    - {action: exec, every: 1h, command: uptime, priority: 7}
---
apiVersion: rmm/v1
kind: Policy
metadata: {name: db}
spec:
  monitors:
    - {name: cpu-db, metric: cpu.percent, when: {op: ">", value: 60}, severity: Info}
---
apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: servers}
spec: {policy: baseline}
---
apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: web}
spec:
  parent: servers
  policies: [web]
  overrides:
    - {monitor: cpu-web, severity: Critical}
    - {monitor: root-disk, when: {value: 90, for: 15m}}
---
apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: db}
spec: {policy: db}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: web-01}
spec:
  site: main
  address: 127.0.0.1
  os: linux
  groups: [web]
  overrides:
    - {monitor: root-disk, when: {value: 80}}
    - {monitor: mem-high, disabled: true}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: db-01}
spec: {site: main, address: 127.0.0.1, os: linux, groups: [db]}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: bare-01}
spec: {site: main, address: 127.0.0.1, os: linux}
`;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-effective-'));
  await writeFile(path.join(cwd, 'fleet.yaml'), YAML);
  expect((await rmm('init')).exitCode).toBe(0);
  const applied = await rmm('apply', '-f', 'fleet.yaml', '--auto-approve');
  expect(applied.exitCode, applied.stderr).toBe(0);
}, 60_000);
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm get devices NAME --effective', () => {
  it('lists each effective monitor and schedule with its policy and holder; the nearer group wins a series', async () => {
    const json = JSON.parse((await rmm('get', 'devices', 'web-01', '--effective', '-o', 'json')).stdout);
    expect(json.device).toBe('web-01');
    expect(
      json.monitors.map(
        (m: { policy: string; level: string; holder: string; name: string; series: string }) => [
          m.policy,
          `${m.level} ${m.holder}`,
          m.name,
          m.series,
        ],
      ),
    ).toEqual([
      ['memory', 'site main', 'mem-full', 'memory.used_percent'],
      ['web', 'group web', 'cpu-web', 'cpu.percent'],
      ['baseline', 'group servers', 'root-disk', 'disk.used_percent{mount="/"}'],
    ]);
    expect(json.monitors[2]).toMatchObject({
      via: ['web', 'servers'],
      metric: 'disk.used_percent',
      match: { mount: '/' },
      interval: '5m',
      when: { op: '>=', value: 80, for: '15m' },
      severity: 'Warning',
      autoResolve: false,
      enforced: false,
    });
    expect(json.monitors[0].enforced).toBe(true);
    expect(json.schedules).toEqual([
      {
        policy: 'baseline',
        level: 'group',
        holder: 'servers',
        via: ['web', 'servers'],
        action: 'inventory',
        everyMs: 86_400_000,
        priority: 5,
      },
      {
        policy: 'web',
        level: 'group',
        holder: 'web',
        via: ['web'],
        action: 'exec',
        everyMs: 3_600_000,
        command: 'uptime',
        priority: 7,
      },
    ]);
    expect(json.conflicts).toEqual([]);

    const text = await rmm('get', 'devices', 'web-01', '--effective');
    expect(text.exitCode, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toBe('Effective monitors of Device/web-01:');
    expect(lines[1]).toMatch(
      /^POLICY\s+FROM\s+MONITOR\s+SERIES\s+CONDITION\s+INTERVAL\s+SEVERITY\s+AUTO-RESOLVE$/,
    );
    expect(lines[4]).toMatch(
      /^baseline\s+group web > servers\s+root-disk\s+disk\.used_percent\{mount="\/"\}\s+>= 80 for 15m\s+5m\s+Warning\s+no$/,
    );
    expect(text.stdout).toMatch(
      /\nSchedules:\nPOLICY\s+FROM\s+ACTION\s+EVERY\s+PRIORITY\s+COMMAND\nbaseline\s+group web > servers\s+inventory\s+1d\s+5\s*\nweb\s+group web\s+exec\s+1h\s+7\s+uptime/,
    );
  });

  it('shows where each overridden value comes from, like git config --show-origin, and what an override disabled', async () => {
    const json = JSON.parse((await rmm('get', 'devices', 'web-01', '--effective', '--json')).stdout);
    const disk = json.monitors.find((m: { name: string }) => m.name === 'root-disk');
    expect(disk.overridden).toEqual({
      'when.value': { level: 'device', holder: 'web-01', via: [] },
      'when.for': { level: 'group', holder: 'web', via: ['web'] },
    });
    expect(json.disabled.map((m: { policy: string; name: string }) => `${m.policy}/${m.name}`)).toEqual([
      'memory/mem-high',
    ]);
    const text = (await rmm('get', 'devices', 'web-01', '--effective')).stdout;
    const block = text.slice(text.indexOf('Overridden values:'), text.indexOf('\n\nSchedules:'));
    expect(block.split('\n').map((l) => l.trim().split(/\s{2,}/))).toEqual([
      ['Overridden values:'],
      ['MONITOR', 'FIELD', 'VALUE', 'FROM'],
      ['web/cpu-web', 'severity', 'Critical', 'group web'],
      ['baseline/root-disk', 'when.value', '80', 'device web-01'],
      ['baseline/root-disk', 'when.for', '15m', 'group web'],
      ['memory/mem-high', 'when.value', '92', 'site main'],
      ['memory/mem-high', 'disabled', 'true', 'device web-01'],
      [''],
      ['Disabled by an override: memory/mem-high'],
    ]);
  });

  it("a device in no group runs its site's policies; a tie from rows edited by hand is shown as a conflict", async () => {
    const bare = await rmm('get', 'devices', 'bare-01', '--effective');
    expect(bare.stdout.trimEnd()).toMatch(
      /^Effective monitors of Device\/bare-01:\nPOLICY .*\nmemory\s+site main\s+mem-high .*\nmemory\s+site main\s+mem-full .*\n\nOverridden values:\n.*\nmemory\/mem-high\s+when\.value\s+92\s+site main\n\nSchedules:\n {2}none$/,
    );
    execFile(
      path.join(cwd, 'data', 'devices.db'),
      `UPDATE Devices SET GroupIds = '["web","db"]' WHERE DeviceId = 'db-01'`,
    );
    const json = JSON.parse((await rmm('get', 'devices', 'db-01', '--effective', '--json')).stdout);
    expect(json.conflicts).toEqual([
      {
        series: 'cpu.percent',
        policies: [
          { policy: 'web', level: 'group', holder: 'web', via: ['web'] },
          { policy: 'db', level: 'group', holder: 'db', via: ['db'] },
        ],
      },
    ]);
    expect(json.monitors.map((m: { name: string }) => m.name).sort()).toEqual([
      'cpu-db',
      'cpu-web',
      'mem-full',
      'mem-high',
      'root-disk',
    ]);
    const text = await rmm('get', 'devices', 'db-01', '--effective');
    expect(text.stdout).toContain(
      '\nConflicts (rmm validate refuses these; both policies apply until fixed):\n  cpu.percent: policy web from group web and policy db from group db',
    );
  });

  it('rmm get sites and groups list the policies each attaches', async () => {
    const sites = (await rmm('get', 'sites')).stdout.split('\n');
    expect(sites[0]).toMatch(/^NAME\s+DISPLAY NAME\s+TIMEZONE\s+POLICIES\s+MANAGED$/);
    expect(sites[1]).toMatch(/^main\s+main\s+memory\s+yes$/);
    const groups = (await rmm('get', 'groups')).stdout.split('\n');
    expect(groups[0]).toMatch(/^NAME\s+PARENT\s+POLICIES\s+SITE\s+MANAGED$/);
    expect(groups.find((l) => l.startsWith('web '))).toMatch(/^web\s+servers\s+web\s+yes$/);
  });

  it('a policy whose monitors were edited by hand into other shapes: the readable ones are listed, no crash', async () => {
    execFile(
      path.join(cwd, 'data', 'devices.db'),
      `UPDATE Policies SET Monitors = json_insert(Monitors, '$[#]', json('null'), '$[#]', 'cpu') WHERE PolicyId = 'memory'`,
    );
    const bare = await rmm('get', 'devices', 'bare-01', '--effective', '--json');
    expect(bare.stderr).toBe('');
    expect(bare.exitCode).toBe(0);
    expect(JSON.parse(bare.stdout).monitors.map((m: { name: string }) => m.name)).toEqual([
      'mem-high',
      'mem-full',
    ]);
  });

  it('refuses --effective without one device, and an unknown device', async () => {
    for (const args of [
      ['devices', '--effective'],
      ['groups', 'web', '--effective'],
    ]) {
      const result = await rmm('get', ...args);
      expect(result.exitCode).toBe(64);
      expect(result.stderr.trim()).toBe(
        'Error: --effective shows one device: rmm get devices NAME --effective',
      );
    }
    const unknown = await rmm('get', 'devices', 'nope', '--effective');
    expect([unknown.exitCode, unknown.stderr.trim()]).toEqual([
      1,
      'Error: Device/nope is not in the database',
    ]);
  });
});
