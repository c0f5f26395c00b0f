import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/child-server.js';
import { runCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';

/** rmm inventory collect against a real OpenSSH on loopback: this machine is the device. */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const query = <T>(sql: string, ...params: unknown[]): T[] =>
  queryFile<T>(path.join(cwd, 'data', 'devices.db'), sql, ...params);

beforeAll(async () => {
  let transport: string;
  ({ sshd, cwd, env, transport } = await sshWorkspace('rmm-inventory-'));
  const device = (name: string, login: string) =>
    `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: main\n  address: 127.0.0.1\n  os: linux\n  transport: {${login}}\n`;
  const closed = transport.replace(`port: ${sshd.port}`, `port: ${await freePort()}`);
  await applyDevices({ cwd, env }, `${device('here', transport)}---\n${device('gone', closed)}`);
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm inventory collect', () => {
  it('stores one Inventory row per category and the observed fields; an unreachable device goes Offline', async () => {
    const result = await rmm('inventory', 'collect', '-t', 'name=*', '--connect-timeout', '2');
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/--- here: Succeeded \(exit 0, [\d.]+ s\)\n.*, kernel /);
    expect(result.stdout).toContain(`kernel ${os.release()}`);
    expect(result.stdout).toContain('--- gone: Unreachable');
    expect(result.stdout).toContain('Inventory complete: 1 succeeded, 0 failed, 0 timedout, 1 unreachable');
    // The collector's raw output is stored in Inventory, not printed.
    expect(result.stdout).not.toContain('### os');

    const categories = query<{ Category: string }>(
      "SELECT Category FROM Inventory WHERE DeviceId = 'here' ORDER BY Category",
    );
    expect(categories.map((c) => c.Category)).toEqual([
      'cpu',
      'disks',
      'hostname',
      'kernel',
      'memory',
      'network',
      'os',
    ]);
    const [memory] = query<{ Data: string }>(
      "SELECT Data FROM Inventory WHERE DeviceId = 'here' AND Category = 'memory'",
    );
    expect(JSON.parse(memory?.Data ?? '{}').totalKb).toBe(Math.round(os.totalmem() / 1024));

    const versionId = /VERSION_ID="?([^"\n]*)/.exec(await readFile('/etc/os-release', 'utf8'))?.[1];
    const rows = query<Record<string, string | null>>(
      'SELECT DeviceId, Status, OSVersion, OSBuild, LastSeen IS NOT NULL AS seen, LastInventory IS NOT NULL AS inventoried FROM Devices ORDER BY DeviceId',
    );
    expect(rows).toEqual([
      { DeviceId: 'gone', Status: 'Offline', OSVersion: null, OSBuild: null, seen: 0, inventoried: 0 },
      {
        DeviceId: 'here',
        Status: 'Online',
        OSVersion: versionId ?? null,
        OSBuild: os.release(),
        seen: 1,
        inventoried: 1,
      },
    ]);
    expect(
      query(
        "SELECT count(*) AS n FROM Actions WHERE ActionType = 'inventory' AND Status IN ('Pending', 'Running')",
      ),
    ).toEqual([{ n: 0 }]);

    // Observed fields are shown by get and left alone by apply.
    const got = await rmm('get', 'devices', 'here');
    expect(got.stdout).toContain('Online');
    const plan = await rmm('plan', '-f', 'devices.yaml', '--detailed-exitcode');
    expect(plan.exitCode).toBe(0);
    expect((await rmm('apply', '-f', 'devices.yaml', '--auto-approve')).exitCode).toBe(0);
    expect(query<{ Status: string }>("SELECT Status FROM Devices WHERE DeviceId = 'here'")).toEqual([
      { Status: 'Online' },
    ]);
  }, 60_000);

  it('queues an inventory with --at; rmm actions run collects and stores it once due', async () => {
    const before = query<{ n: number }>("SELECT count(*) AS n FROM Inventory WHERE DeviceId = 'here'")[0]?.n;
    const queued = await rmm(
      'inventory',
      'collect',
      '-t',
      'name=here',
      '--at',
      '2020-01-01T00:00:00Z',
      '--json',
    );
    expect(queued.exitCode).toBe(0);
    const { ids } = JSON.parse(queued.stdout) as { ids: string[] };
    expect(ids).toHaveLength(1);

    const run = await rmm('actions', 'run', '--json');
    expect(run.exitCode).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const done = events.find((e) => e.id === ids[0] && e.status === 'Succeeded');
    expect(done.note).toContain(`kernel ${os.release()}`);
    expect(done.stdout).toBeUndefined();
    const after = query<{ n: number }>("SELECT count(*) AS n FROM Inventory WHERE DeviceId = 'here'")[0]?.n;
    expect(after).toBe((before ?? 0) + 7);
    const [row] = query<{ Result: string }>(`SELECT Result FROM Actions WHERE ActionId = '${ids[0]}'`);
    expect(JSON.parse(row?.Result ?? '{}').note).toContain('kernel');
    const shown = await rmm('actions', 'show', ids[0] as string);
    expect(shown.stdout).toMatch(/^Note: +.*kernel /m);
  }, 60_000);

  it("ends an inventory Failed, storing nothing, when the output is not the collector's", async () => {
    const db = new Database(path.join(cwd, 'data', 'devices.db'));
    try {
      db.prepare(
        `INSERT INTO Actions (ActionId, DeviceId, ActionType, Status, Priority, Payload, CreatedBy)
         VALUES ('bogus-inventory', 'here', 'inventory', 'Pending', 1, ?, 'test')`,
      ).run(JSON.stringify({ command: 'echo not an inventory' }));
    } finally {
      db.close();
    }
    const before = query<{ n: number }>('SELECT count(*) AS n FROM Inventory')[0]?.n;
    const run = await rmm('actions', 'run');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/--- here: Failed \(exit 0/);
    const [row] = query<{ Status: string; Result: string }>(
      "SELECT Status, Result FROM Actions WHERE ActionId = 'bogus-inventory'",
    );
    expect(row?.Status).toBe('Failed');
    expect(JSON.parse(row?.Result ?? '{}').error).toMatch(/collector/i);
    expect(query<{ n: number }>('SELECT count(*) AS n FROM Inventory')[0]?.n).toBe(before);
  }, 60_000);
});
