import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devicesOfPolicy, readFleet } from '../../src/service/fleet.js';
import { openDatabase } from '../../src/state/connection.js';
import { runCli } from '../helpers/cli.js';

/**
 * What rmm serve reads of the declared state (readFleet), from a database `rmm apply` wrote: the
 * policies a device follows at site, group and device level (their schedules run on it) and its
 * effective monitors with the overrides applied.
 */
let cwd: string;
const YAML = `apiVersion: rmm/v1
kind: Site
metadata: {name: main}
spec: {policies: [site-wide]}
---
apiVersion: rmm/v1
kind: Policy
metadata: {name: site-wide}
spec:
  monitors:
    - {name: cpu-high, metric: cpu.percent, when: {op: ">", value: 90}, severity: Warning}
  schedules:
    - {action: inventory, every: 24h}
---
apiVersion: rmm/v1
kind: Policy
metadata: {name: web}
spec:
  monitors:
    - {name: load-high, metric: load.1m, when: {op: ">", value: 8}, severity: Warning}
---
apiVersion: rmm/v1
kind: Policy
metadata: {name: own}
spec:
  schedules:
    - {action: exec, every: 1h, command: uptime}
---
apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: web}
spec:
  policies: [web]
  overrides:
    - {monitor: cpu-high, when: {value: 95}}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: d1}
spec:
  site: main
  groups: [web]
  policies: [own]
  overrides:
    - {monitor: load-high, severity: Critical}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: d2}
spec: {site: main}
`;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-fleet-'));
  await writeFile(path.join(cwd, 'fleet.yaml'), YAML);
  expect((await runCli(['init'], { cwd })).exitCode).toBe(0);
  const applied = await runCli(['apply', '-f', 'fleet.yaml', '--auto-approve'], { cwd });
  expect(applied.exitCode, applied.stderr).toBe(0);
}, 60_000);
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('readFleet', () => {
  it("gives each device its site's, groups' and own policies, and its monitors with overrides applied", () => {
    const db = openDatabase(path.join(cwd, 'data', 'devices.db'), { readonly: true });
    try {
      const fleet = readFleet(db);
      expect(fleet.problems).toEqual([]);
      expect(Object.fromEntries(fleet.policiesOf)).toEqual({
        d1: ['own', 'site-wide', 'web'],
        d2: ['site-wide'],
      });
      expect(devicesOfPolicy(fleet, 'site-wide').map((d) => d.name)).toEqual(['d1', 'd2']);
      expect(devicesOfPolicy(fleet, 'own').map((d) => d.name)).toEqual(['d1']);
      const shown = (name: string) =>
        fleet.monitors.get(name)?.map((m) => `${m.policy}/${m.name} ${m.op} ${m.threshold} ${m.severity}`);
      expect(shown('d1')).toEqual(['site-wide/cpu-high > 95 Warning', 'web/load-high > 8 Critical']);
      expect(shown('d2')).toEqual(['site-wide/cpu-high > 90 Warning']);
    } finally {
      db.close();
    }
  });
});
