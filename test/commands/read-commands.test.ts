import { chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { execFile, queryFile } from '../helpers/sqlite.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';

/**
 * rmm inventory show and rmm audit read what rmm stored: here a real inventory collected over a real
 * OpenSSH on loopback (this machine is the device), and the AuditLog rows apply and the runner wrote.
 */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const database = () => path.join(cwd, 'data', 'devices.db');

beforeAll(async () => {
  let transport: string;
  ({ sshd, cwd, env, transport } = await sshWorkspace('rmm-read-'));
  const device = (name: string) =>
    `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: main\n  address: 127.0.0.1\n  os: linux\n  transport: {${transport}}\n`;
  await applyDevices({ cwd, env }, `${device('here')}---\n${device('never')}`);
  expect((await rmm('inventory', 'collect', '-t', 'name=here')).exitCode).toBe(0);
}, 90_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm inventory show', () => {
  it('shows the newest row of each category, as text and as JSON', async () => {
    const text = await rmm('inventory', 'show', 'here');
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(
      /^os \(Device\/here, collected \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)\n {2}name: /,
    );
    for (const category of ['kernel', 'hostname', 'cpu', 'memory', 'disks', 'network'])
      expect(text.stdout).toContain(`\n\n${category} (Device/here, collected `);
    expect(text.stdout).toContain(`  release: ${os.release()}`);

    const json = JSON.parse((await rmm('inventory', 'show', 'here', 'memory', '--json')).stdout);
    expect(json.device).toBe('here');
    expect(json.categories.map((c: { category: string }) => c.category)).toEqual(['memory']);
    expect(json.categories[0].data.totalKb).toBe(Math.round(os.totalmem() / 1024));
  });

  it('a newer collect is what it shows; older rows stay as history', async () => {
    execFile(
      database(),
      `INSERT INTO Inventory (DeviceId, Category, Data, CollectedAt) VALUES ('here', 'hostname', '{"name":"older"}', '2020-01-01 00:00:00')`,
    );
    const json = JSON.parse((await rmm('inventory', 'show', 'here', 'hostname', '-o', 'json')).stdout);
    // The row inserted last has the highest id, so it counts as the newest: ids order collects.
    expect(json.categories[0].data).toEqual({ name: 'older' });
    execFile(database(), `DELETE FROM Inventory WHERE Data = '{"name":"older"}'`);
    const again = JSON.parse((await rmm('inventory', 'show', 'here', 'hostname', '-o', 'json')).stdout);
    expect(again.categories[0].data).toEqual({ name: os.hostname() });
  });

  it('refuses unknown devices, categories and devices without inventory, clearly and without a bug', async () => {
    const cases: Array<[string[], number, string]> = [
      [['nosuch'], 1, 'Error: Device/nosuch is not in the database'],
      [
        ['never'],
        1,
        'Error: Device/never has no inventory yet\n  collect it with: rmm inventory collect -t name=never',
      ],
      [
        ['here', 'bogus'],
        64,
        'Error: unknown inventory category "bogus"\n  categories: os, kernel, hostname, cpu, memory, disks, network, hardware, software',
      ],
      [
        ['here', 'software'],
        1,
        'Error: Device/here has no software inventory\n  it has: os, kernel, hostname, cpu, memory, disks, network',
      ],
    ];
    for (const [args, code, message] of cases) {
      const result = await rmm('inventory', 'show', ...args);
      expect(result.stderr.trimEnd(), args.join(' ')).toBe(message);
      expect(result.exitCode, args.join(' ')).toBe(code);
      expect(result.stdout).toBe('');
    }
  });
});

describe('rmm audit', () => {
  it('lists AuditLog rows newest last: the applies, then the inventory action', async () => {
    const result = await rmm('audit');
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+USER\s+ACTION\s+TARGET\s+OK\s+DETAILS$/);
    expect(lines.some((l) => /\sapply\.create\s+Device\/here\s+yes\s/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/\saction\.inventory\s+Device\/here\s+yes\s+\{"actionId":/);
    const ids = JSON.parse((await rmm('audit', '--json')).stdout).map((r: { id: number }) => r.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('--target takes KIND/NAME or a glob; --limit keeps the newest and says how many matched', async () => {
    const all = JSON.parse((await rmm('audit', '--json')).stdout) as Array<{
      target: string;
      action: string;
    }>;
    const one = JSON.parse((await rmm('audit', '-t', 'Device/never', '--json')).stdout);
    expect(one.map((r: { action: string }) => r.action)).toEqual(['apply.create Device/never']);
    const devices = JSON.parse((await rmm('audit', '--target', 'Device/*', '--json')).stdout);
    expect(devices).toEqual(all.filter((r) => r.target.startsWith('Device/')));
    expect(devices.length).toBe(3);

    const last = await rmm('audit', '--target', 'Device/*', '-n', '1', '-o', 'json');
    expect(last.exitCode).toBe(0);
    expect(JSON.parse(last.stdout).map((r: { action: string }) => r.action)).toEqual([
      'action.inventory Device/here',
    ]);
    expect(last.stderr).toContain('Showing the newest 1 of 3 matching rows');
    const none = await rmm('audit', '--target', 'Site/nowhere');
    expect([none.exitCode, none.stdout, none.stderr.trim()]).toEqual([0, '', 'No audit rows match.']);
  });

  it('--since takes a duration or a time', async () => {
    const rows = queryFile<{ n: number }>(database(), 'SELECT count(*) AS n FROM AuditLog')[0]?.n ?? 0;
    execFile(
      database(),
      "UPDATE AuditLog SET Timestamp = '2020-01-01 00:00:00' WHERE Target = 'Device/never'",
    );
    const recent = JSON.parse((await rmm('audit', '--since', '1d', '--json')).stdout);
    expect(recent.length).toBe(rows - 1);
    const since2019 = JSON.parse((await rmm('audit', '--since', '2019-12-31T23:00:00Z', '--json')).stdout);
    expect(since2019.length).toBe(rows);
    const since2021 = JSON.parse((await rmm('audit', '--since', '2021-01-01', '--json')).stdout);
    expect(since2021.length).toBe(rows - 1);
  });

  it('refuses bad --since and --limit values with exit 64 and a clear message', async () => {
    const cases: Array<[string[], string]> = [
      [['--since', '10x'], '--since "10x": not a duration'],
      [['--since', '1.5h'], '--since "1.5h": not a duration'],
      [['--since', 'yesterday'], '--since "yesterday": not an ISO 8601 date-time'],
      [['--since', '2026-02-30'], '--since "2026-02-30T00:00": 2026-02 has no day 30'],
      [['--since', '2026-02-30T00:00Z'], '--since "2026-02-30T00:00Z": 2026-02 has no day 30'],
      [['--limit', '0'], 'Expected an integer greater than or equal to 1 but received: 0'],
      [['--limit', '20000'], 'Expected an integer less than or equal to 10000 but received: 20000'],
    ];
    for (const [args, message] of cases) {
      const result = await rmm('audit', ...args);
      expect(result.stderr, args.join(' ')).toContain(message);
      expect(result.stderr, args.join(' ')).not.toContain('bug');
      expect(result.exitCode, args.join(' ')).toBe(64);
    }
  });
});

describe('read-only use', () => {
  // The database is in WAL mode, where SQLite's readers create devices.db-shm next to the file: here
  // they cannot, and the database is read as immutable (src/state/connection.ts, issue 10 item 5).
  it('inventory show and audit work for a user who may read the database but not write it or its folder', async () => {
    // A copy nobody may write: the file 0444, its folder and the folders above 0555.
    const home = await mkdtemp(path.join(os.tmpdir(), 'rmm-readonly-'));
    const dataDir = path.join(home, 'data');
    await mkdir(dataDir);
    await copyFile(database(), path.join(dataDir, 'devices.db'));
    await chmod(path.join(dataDir, 'devices.db'), 0o444);
    await chmod(dataDir, 0o555);
    await chmod(home, 0o555);
    const asNobody = (...args: string[]) =>
      runCli([...args, '--data-dir', dataDir], { cwd: home, env: { HOME: home }, unprivileged: true });
    try {
      const inventory = await asNobody('inventory', 'show', 'here', 'kernel');
      expect(inventory.stderr).toBe('');
      expect(inventory.stdout).toContain(`release: ${os.release()}`);
      expect(inventory.exitCode).toBe(0);
      const audit = await asNobody('audit', '--json');
      expect(audit.stderr).toBe('');
      expect(JSON.parse(audit.stdout).length).toBeGreaterThan(0);
      expect(audit.exitCode).toBe(0);
    } finally {
      await chmod(home, 0o755);
      await chmod(dataDir, 0o755);
      await rm(home, { recursive: true, force: true });
    }
  });
});
