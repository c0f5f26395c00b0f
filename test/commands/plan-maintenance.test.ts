import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanJson } from '../../src/views/plan-json.js';
import { runCli } from '../helpers/cli.js';

/**
 * rmm plan lists the maintenance windows that start or end within 24 hours of its clock (--now),
 * in the state the plan leads to: applied windows reaching stored devices, and the input's own.
 */
let cwd: string;
const rmm = (...args: string[]) => runCli(args, { cwd });
const file = (name: string) => path.join(cwd, name);

const site = (windows: string[]) =>
  [
    'apiVersion: rmm/v1',
    'kind: Site',
    'metadata: {name: paris}',
    'spec:',
    '  timezone: Europe/Paris',
    ...windows,
  ].join('\n');
const devices = [
  '---',
  'apiVersion: rmm/v1',
  'kind: DeviceGroup',
  'metadata: {name: web}',
  'spec:',
  '  maintenance:',
  '    - {name: deploy, cron: "30 23 * * *", duration: 30m, pauseSchedules: true}',
  ...['web-1', 'web-2'].flatMap((name) => [
    '---',
    'apiVersion: rmm/v1',
    'kind: Device',
    `metadata: {name: ${name}}`,
    'spec: {site: paris, groups: [web]}',
  ]),
  '---',
  'apiVersion: rmm/v1',
  'kind: Device',
  'metadata: {name: lab-1}',
  'spec: {site: main, groups: [web]}',
  '',
].join('\n');

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-plan-maintenance-'));
  expect((await rmm('init')).exitCode).toBe(0);
  await writeFile(file('fleet.yaml'), `${site([])}\n${devices}`);
  expect((await rmm('apply', '-f', file('fleet.yaml'), '--auto-approve')).exitCode).toBe(0);
  await writeFile(
    file('site.yaml'),
    site(['  maintenance:', '    - {name: move, start: 2026-12-05T22:00, end: 2026-12-06T04:00}', '']),
  );
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm plan and maintenance windows', () => {
  it("shows the windows starting or ending within 24h, in each zone's local time, with the devices they reach", async () => {
    // Noon UTC on Saturday 2026-12-05: the move starts at 22:00 Paris (21:00 UTC); the applied group
    // window runs at 23:30 in Paris for web-1 and web-2, and at 23:30 UTC for lab-1 (site main, no zone).
    const planned = await rmm('plan', '-f', file('site.yaml'), '--now', '2026-12-05T12:00:00Z');
    expect(planned.exitCode).toBe(0);
    const lines = planned.stdout.split('\n');
    const at = lines.indexOf('Maintenance windows starting or ending within 24h (3):');
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 4)).toEqual([
      '  move (site paris, 2 devices): 2026-12-05 22:00 to 2026-12-06 04:00 Europe/Paris; starts in 9h, ends in 15h',
      '  deploy (group web, 2 devices, holds schedules): 2026-12-05 23:30 to 2026-12-06 00:00 Europe/Paris; starts in 10h 30m, ends in 11h',
      '  deploy (group web, 1 device, holds schedules): 2026-12-05 23:30 to 2026-12-06 00:00 UTC; starts in 11h 30m, ends in 12h',
    ]);
  });

  it('says the same in --json, with times in UTC', async () => {
    const planned = await rmm('plan', '-f', file('site.yaml'), '--now', '2026-12-05T12:00:00Z', '--json');
    expect(planned.exitCode).toBe(0);
    const json = JSON.parse(planned.stdout) as PlanJson;
    expect(json.maintenance[0]).toEqual({
      name: 'move',
      level: 'site',
      holder: 'paris',
      timezone: 'Europe/Paris',
      start: '2026-12-05T21:00:00.000Z',
      end: '2026-12-06T03:00:00.000Z',
      starts: true,
      ends: true,
      devices: 2,
      pauseSchedules: false,
    });
    expect(json.maintenance.map((w) => `${w.name}:${w.timezone}:${w.devices}`)).toEqual([
      'move:Europe/Paris:2',
      'deploy:Europe/Paris:2',
      'deploy:UTC:1',
    ]);
  });

  it('lists a window under way at the plan time by its end, and leaves out one the plan removes', async () => {
    const during = await rmm('plan', '-f', file('site.yaml'), '--now', '2026-12-06T02:00:00Z');
    expect(during.stdout).toContain(
      '  move (site paris, 2 devices): 2026-12-05 22:00 to 2026-12-06 04:00 Europe/Paris; under way, ends in 1h',
    );
    // The site declared without the window: the stored group window only.
    await writeFile(file('plain.yaml'), site([]));
    const without = await rmm('plan', '-f', file('plain.yaml'), '--now', '2026-12-06T02:00:00Z');
    expect(without.stdout).toContain('Maintenance windows starting or ending within 24h (2):');
    expect(without.stdout).not.toContain('  move');
  });

  it('shows no maintenance section when no window starts or ends within a day', async () => {
    const other = await mkdtemp(path.join(os.tmpdir(), 'rmm-plan-no-maintenance-'));
    try {
      expect((await runCli(['init'], { cwd: other })).exitCode).toBe(0);
      const planned = await runCli(['plan', '-f', file('site.yaml'), '--now', '2026-12-01T00:00:00Z'], {
        cwd: other,
      });
      expect(planned.exitCode).toBe(0);
      expect(planned.stdout).not.toContain('Maintenance windows');
      const json = await runCli(
        ['plan', '-f', file('site.yaml'), '--now', '2026-12-01T00:00:00Z', '--json'],
        {
          cwd: other,
        },
      );
      expect((JSON.parse(json.stdout) as PlanJson).maintenance).toEqual([]);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('refuses a --now that is not a time, exit 64', async () => {
    const planned = await rmm('plan', '-f', file('site.yaml'), '--now', 'yesterday');
    expect(planned.exitCode).toBe(64);
    expect(planned.stderr).toContain('--now must be an ISO 8601 time, not "yesterday"');
  });
});
