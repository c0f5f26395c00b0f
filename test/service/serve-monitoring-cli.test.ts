import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';

/**
 * A Policy's monitor run by rmm serve --once as a user runs it, against a real database file and the
 * tests' real OpenSSH: the real disk.used_percent{mount=/} over a threshold of 0 fires, a second
 * serve does not raise it again, and pruning the policy resolves it, saying why.
 */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
let ssh: string;
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const query = <T>(sql: string): T[] => queryFile<T>(path.join(cwd, 'data', 'devices.db'), sql);
const alerts = () =>
  query<Record<string, unknown>>(
    'SELECT AlertType, Severity, Source, Instance, Title, ResolvedBy, AutoResolved, ResolvedAt IS NULL AS Open FROM Alerts',
  );

const device = `apiVersion: rmm/v1
kind: Device
metadata: {name: mon-a}
spec: {site: main, address: 127.0.0.1, os: linux, groups: [web], transport: {${'SSH'}}}
`;
const group = (policy: boolean) => `---
apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: web}
spec: {${policy ? 'policy: disks' : ''}}
`;
const POLICY = `---
apiVersion: rmm/v1
kind: Policy
metadata: {name: disks}
spec:
  monitors:
    - name: root-disk
      metric: disk.used_percent
      match: {mount: /}
      when: {op: ">", value: 0}
      severity: Warning
      autoResolve: true
`;

beforeAll(async () => {
  ({ sshd, cwd, env, transport: ssh } = await sshWorkspace('rmm-serve-mon-', 'serve-test'));
  await applyDevices({ cwd, env }, device.replace('SSH', ssh) + group(true) + POLICY);
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm serve runs a policy monitor', { timeout: 60_000 }, () => {
  it('fires once across two serves, stores samples, and resolves when the policy is pruned', async () => {
    const first = await rmm('serve', '--once');
    expect(first.exitCode, first.stderr).toBe(0);
    expect(alerts()).toEqual([
      {
        AlertType: 'monitor',
        Severity: 'Warning',
        Source: 'disks/root-disk',
        Instance: 'mount=/',
        Title: 'root-disk on mon-a: disk.used_percent{mount=/} > 0',
        ResolvedBy: null,
        AutoResolved: 0,
        Open: 1,
      },
    ]);
    const second = await rmm('serve', '--once');
    expect(second.exitCode, second.stderr).toBe(0);
    expect(alerts()).toHaveLength(1);
    expect(query("SELECT count(*) AS n FROM Metrics WHERE MetricType = 'disk.used_percent'")).toEqual([
      { n: 2 },
    ]);

    // The policy leaves the group and is pruned: the next serve resolves its open alert.
    await writeFile(path.join(cwd, 'devices.yaml'), device.replace('SSH', ssh) + group(false));
    const pruned = await rmm('apply', '-f', 'devices.yaml', '--auto-approve', '--prune');
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    const third = await rmm('serve', '--once');
    expect(third.exitCode, third.stderr).toBe(0);
    expect(alerts()).toEqual([
      expect.objectContaining({ Open: 0, ResolvedBy: 'rmm serve (monitor removed)', AutoResolved: 1 }),
    ]);
    expect(query("SELECT Action FROM AuditLog WHERE Target LIKE 'Alert/%' ORDER BY rowid")).toEqual([
      { Action: 'alert.raise' },
      { Action: 'alert.resolve' },
    ]);
  });

  it('refuses an --offline-after that is not a duration (exit 64), nothing written', async () => {
    const before = query('SELECT count(*) AS n FROM AuditLog');
    const bad = await rmm('serve', '--once', '--offline-after', 'soon');
    expect(bad.exitCode).toBe(64);
    expect(bad.stderr).toContain('--offline-after "soon": not a duration');
    expect(query('SELECT count(*) AS n FROM AuditLog')).toEqual(before);
    expect(query('SELECT StoppedAt FROM ServiceLease')).toHaveLength(1);
  });
});
