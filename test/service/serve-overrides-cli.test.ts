import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';

/**
 * Overrides as rmm serve --once sees them, against a real database file and the tests' real
 * OpenSSH: a policy attached at the site watches the real disk.used_percent{mount=/} with a
 * threshold it never crosses; a group's override lowers the threshold and raises the severity, and
 * the alert fires with the overridden condition; a device's override disables the monitor, and the
 * open alert resolves as the monitor removed.
 */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
let ssh: string;
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const query = <T>(sql: string): T[] => queryFile<T>(path.join(cwd, 'data', 'devices.db'), sql);
const alerts = () =>
  query<Record<string, unknown>>(
    'SELECT Severity, Source, Title, ResolvedBy, ResolvedAt IS NULL AS Open FROM Alerts ORDER BY rowid',
  );

const fleet = (groupOverrides: string, deviceOverrides: string) => `apiVersion: rmm/v1
kind: Site
metadata: {name: main}
spec: {policies: [disks]}
---
apiVersion: rmm/v1
kind: Policy
metadata: {name: disks}
spec:
  monitors:
    - {name: root-disk, metric: disk.used_percent, match: {mount: /}, when: {op: ">", value: 100}, severity: Warning, autoResolve: true}
---
apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: web}
spec: {overrides: [${groupOverrides}]}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: mon-a}
spec: {site: main, address: 127.0.0.1, os: linux, groups: [web], overrides: [${deviceOverrides}], transport: {${ssh}}}
`;

async function applyFleet(groupOverrides: string, deviceOverrides: string) {
  await writeFile(path.join(cwd, 'devices.yaml'), fleet(groupOverrides, deviceOverrides));
  const applied = await rmm('apply', '-f', 'devices.yaml', '--auto-approve');
  expect(applied.exitCode, applied.stderr).toBe(0);
}

beforeAll(async () => {
  ({ sshd, cwd, env, transport: ssh } = await sshWorkspace('rmm-serve-ovr-', 'serve-test'));
  await applyDevices({ cwd, env }, fleet('', ''));
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm serve runs the overridden monitor', { timeout: 60_000 }, () => {
  it("a site's policy stays quiet; a group's override makes it fire as changed; a device's disables it", async () => {
    const quiet = await rmm('serve', '--once');
    expect(quiet.exitCode, quiet.stderr).toBe(0);
    // It ran: the series was collected for the site-level policy, and nothing crossed 100.
    expect(query("SELECT count(*) AS n FROM Metrics WHERE MetricType = 'disk.used_percent'")).toEqual([
      { n: 1 },
    ]);
    expect(alerts()).toEqual([]);

    await applyFleet('{monitor: root-disk, when: {value: 0}, severity: Critical}', '');
    const fired = await rmm('serve', '--once');
    expect(fired.exitCode, fired.stderr).toBe(0);
    expect(alerts()).toEqual([
      {
        Severity: 'Critical',
        Source: 'disks/root-disk',
        Title: 'root-disk on mon-a: disk.used_percent{mount=/} > 0',
        ResolvedBy: null,
        Open: 1,
      },
    ]);

    await applyFleet(
      '{monitor: root-disk, when: {value: 0}, severity: Critical}',
      '{monitor: root-disk, disabled: true}',
    );
    const disabled = await rmm('serve', '--once');
    expect(disabled.exitCode, disabled.stderr).toBe(0);
    expect(alerts()).toEqual([
      expect.objectContaining({ Open: 0, ResolvedBy: 'rmm serve (monitor removed)' }),
    ]);
    const effective = JSON.parse((await rmm('get', 'devices', 'mon-a', '--effective', '--json')).stdout);
    expect(effective.monitors).toEqual([]);
    expect(
      effective.disabled.map((m: { overridden: { disabled: unknown } }) => m.overridden.disabled),
    ).toEqual([{ level: 'device', holder: 'mon-a', via: [] }]);
  });
});
