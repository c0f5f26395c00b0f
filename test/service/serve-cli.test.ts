import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';
import { waitFor } from '../helpers/wait.js';

/**
 * rmm serve and rmm status as a user runs them, against a real database file and the tests' real
 * OpenSSH. Long-running serves tick every second and are waited on through the database, each wait
 * bounded; nothing sleeps.
 */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
let ssh: string;
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const dbFile = () => path.join(cwd, 'data', 'devices.db');
const query = <T>(sql: string, ...params: unknown[]): T[] => queryFile<T>(dbFile(), sql, ...params);
const lease = () =>
  query<{ Pid: number; Host: string; StoppedAt: number | null; LastCycleAt: number | null }>(
    'SELECT Pid, Host, StoppedAt, LastCycleAt FROM ServiceLease',
  )[0];
const statuses = () =>
  query<{ ActionId: string; Status: string }>('SELECT ActionId, Status FROM Actions ORDER BY rowid');

const fleet = (policy = '') => `apiVersion: rmm/v1
kind: Device
metadata: {name: sv-a}
spec: {site: main, address: 127.0.0.1, os: linux, groups: [web], transport: {${ssh}}}
---
apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: web}
spec: {${policy ? `policy: ${policy}` : ''}}
`;
const POLICY = `---
apiVersion: rmm/v1
kind: Policy
metadata: {name: hourly}
spec:
  schedules:
    - {action: exec, every: 1h, command: echo scheduled}
`;

/** A serve running in the background, ticking every second. */
function startServe() {
  return spawnCli(['serve', '--tick', '1'], { cwd, env });
}
const running = () =>
  waitFor('rmm serve to hold the lease', () => (lease()?.StoppedAt === null ? lease() : undefined));

beforeAll(async () => {
  ({ sshd, cwd, env, transport: ssh } = await sshWorkspace('rmm-serve-', 'serve-test'));
  await applyDevices({ cwd, env }, fleet());
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm serve', { timeout: 60_000 }, () => {
  it('--once runs the due --at actions, reaches the devices, records its cycle and exits 0', async () => {
    const queued = await rmm('exec', '-t', 'name=sv-a', '--at', '2000-01-01T00:00:00Z', '--', 'echo due');
    expect(queued.exitCode, queued.stderr).toBe(0);
    const later = await rmm('exec', '-t', 'name=sv-a', '--at', '2099-01-01T00:00:00Z', '--', 'echo later');
    expect(later.exitCode).toBe(0);
    const result = await rmm('serve', '--once');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(statuses().map((r) => r.Status)).toEqual(['Succeeded', 'Pending']);
    // Logs are JSON lines on stderr.
    const lines = result.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toContain('rmm serve stopped');
    expect(query('SELECT Status FROM Devices')).toEqual([{ Status: 'Online' }]);
    expect(lease()).toMatchObject({ StoppedAt: expect.any(Number), LastCycleAt: expect.any(Number) });

    const status = await rmm('status', '--json');
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      service: { running: false },
      lastCycle: { report: { devices: 1, reached: 1 } },
      devices: { Online: 1, Offline: 0, Unknown: 0 },
      openAlerts: { Critical: 0, Warning: 0, Info: 0 },
    });
  });

  it('refuses a second serve naming the first one (exit 3); SIGTERM cancels what runs, releases the lease, exit 0', async () => {
    const first = startServe();
    const held = await running();
    expect(held.Pid).toBe(first.pid);
    const status = await rmm('status');
    expect(status.stdout).toContain(`rmm serve: running, pid ${first.pid} on ${os.hostname()}`);

    const second = await rmm('serve', '--once');
    expect(second.exitCode).toBe(3);
    expect(second.stderr).toContain(
      `another rmm serve runs against this database: pid ${first.pid} on ${os.hostname()}`,
    );

    await rmm('exec', '-t', 'name=sv-a', '--at', '2000-01-01T00:00:00Z', '--', 'sleep 30');
    const id = statuses().at(-1)?.ActionId;
    await waitFor('the action to run', () =>
      statuses().find((r) => r.ActionId === id && r.Status === 'Running') ? true : undefined,
    );
    first.kill('SIGTERM');
    const ended = await first;
    expect(ended.exitCode, ended.stderr).toBe(0);
    expect(statuses().find((r) => r.ActionId === id)?.Status).toBe('Cancelled');
    expect(query("SELECT count(*) AS n FROM Actions WHERE Status = 'Running'")).toEqual([{ n: 0 }]);
    expect(lease()?.StoppedAt).toEqual(expect.any(Number));
  });

  it('after kill -9 the next serve takes the lease over and ends what was left Running', async () => {
    const first = startServe();
    await running();
    await rmm('exec', '-t', 'name=sv-a', '--at', '2000-01-01T00:00:00Z', '--', 'sleep 30');
    const id = statuses().at(-1)?.ActionId;
    await waitFor('the action to run', () =>
      statuses().find((r) => r.ActionId === id && r.Status === 'Running') ? true : undefined,
    );
    first.kill('SIGKILL');
    await first;
    expect(lease()).toMatchObject({ Pid: first.pid, StoppedAt: null });

    const next = await rmm('serve', '--once');
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toContain(
      `took the lease over: rmm serve (pid ${first.pid} on ${os.hostname()}) is not running any more`,
    );
    expect(statuses().find((r) => r.ActionId === id)?.Status).toBe('Failed');
    expect(lease()?.StoppedAt).toEqual(expect.any(Number));
  });

  it('picks up an rmm apply while it runs: a new policy schedule is queued and run without a restart', async () => {
    const serve = startServe();
    await running();
    await writeFile(path.join(cwd, 'devices.yaml'), fleet('hourly') + POLICY);
    const applied = await rmm('apply', '-f', 'devices.yaml', '--auto-approve');
    expect(applied.exitCode, applied.stderr).toBe(0);
    const ran = await waitFor(
      'the scheduled run to succeed',
      () =>
        query<{ Status: string; Result: string }>(
          "SELECT Status, Result FROM Actions WHERE Payload LIKE '%policy hourly%' AND Status = 'Succeeded'",
        )[0],
    );
    expect(JSON.parse(ran.Result).stdout).toBe('scheduled\n');
    serve.kill('SIGTERM');
    expect((await serve).exitCode).toBe(0);
    expect(query('SELECT PolicyId, ScheduleKey FROM ScheduleRuns')).toEqual([
      { PolicyId: 'hourly', ScheduleKey: 'exec echo scheduled' },
    ]);
    // A restart does not run it again within the hour.
    const before = query('SELECT count(*) AS n FROM Actions');
    expect((await rmm('serve', '--once')).exitCode).toBe(0);
    expect(query('SELECT count(*) AS n FROM Actions')).toEqual(before);
  });

  it('refuses bad flags (exit 64), a data directory without a database (exit 1) or that is a file (exit 7)', async () => {
    const before = query('SELECT count(*) AS n FROM AuditLog');
    expect((await rmm('serve', '--tick', '0')).exitCode).toBe(64);
    expect((await rmm('serve', '--bogus')).exitCode).toBe(64);
    const missing = await rmm('serve', '--once', '--data-dir', path.join(cwd, 'nowhere'));
    expect([missing.exitCode, missing.stderr.trim()]).toEqual([
      1,
      'Error: no database at nowhere/devices.db\n  create it with: rmm init',
    ]);
    await writeFile(path.join(cwd, 'a-file'), '');
    const file = await rmm('serve', '--once', '--data-dir', path.join(cwd, 'a-file'));
    expect(file.exitCode).toBe(7);
    expect((await rmm('status', '--data-dir', path.join(cwd, 'a-file'))).exitCode).toBe(7);
    expect(query('SELECT count(*) AS n FROM AuditLog')).toEqual(before);
  });
});
