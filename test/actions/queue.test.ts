import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';

/**
 * The Actions queue around rmm exec: --at queues for later, rmm actions run runs what is due,
 * list / show / cancel read and edit the queue; against a real OpenSSH server on a loopback port.
 */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const dbFile = () => path.join(cwd, 'data', 'devices.db');
const query = <T>(sql: string, ...params: unknown[]): T[] => queryFile<T>(dbFile(), sql, ...params);
const write = (sql: string) => {
  const db = new Database(dbFile());
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
};
interface Row {
  ActionId: string;
  DeviceId: string;
  Status: string;
  Priority: number;
  Payload: string;
  Result: string | null;
  ScheduledAt: string | null;
}
const rowsOf = (ids: readonly string[]) =>
  ids.map((id) => query<Row>('SELECT * FROM Actions WHERE ActionId = ?', id)[0] as Row);

const device = (name: string, transport: string) => `apiVersion: rmm/v1
kind: Device
metadata: {name: ${name}}
spec: {site: main, address: 127.0.0.1, os: linux, transport: {${transport}}}
`;
let ssh: string;
const yamlOf = (names: string[]) => names.map((n) => device(n, ssh)).join('---\n');
const declare = (names: string[]) => writeFile(path.join(cwd, 'devices.yaml'), yamlOf(names));

/** The ids rmm exec --at printed, one per line before the device name. */
const idsOf = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/)[0] as string);

beforeAll(async () => {
  ({ sshd, cwd, env, transport: ssh } = await sshWorkspace('rmm-queue-', 'queue-test'));
  await applyDevices({ cwd, env }, yamlOf(['q-a', 'q-b', 'q-c', 'q-gone']));
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm exec --at', () => {
  it('only queues: Pending rows due at the time in UTC, with the command and its limits; exit 0', async () => {
    const result = await rmm(
      'exec',
      '-t',
      'name=q-a',
      '-t',
      'name=q-b',
      '--at',
      '2099-06-01T12:00+02:00',
      '--timeout',
      '7',
      '--',
      'echo later',
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('Queued 2 actions, due 2099-06-01 10:00:00 UTC');
    const rows = rowsOf(idsOf(result.stdout));
    expect(rows.map((r) => [r.DeviceId, r.Status, r.ScheduledAt])).toEqual([
      ['q-a', 'Pending', '2099-06-01 10:00:00'],
      ['q-b', 'Pending', '2099-06-01 10:00:00'],
    ]);
    expect(JSON.parse(rows[0]?.Payload ?? '')).toEqual({
      command: 'echo later',
      timeoutMs: 7000,
      connectTimeoutMs: 15_000,
    });

    const json = await rmm('exec', '-t', 'name=q-c', '--at', '2099-06-01T10:00:00Z', '--json', '--', 'true');
    expect(JSON.parse(json.stdout)).toMatchObject({
      type: 'queued',
      scheduledAt: '2099-06-01 10:00:00',
      count: 1,
    });
  });

  it('refuses a time that is not an ISO 8601 date-time, queuing nothing (exit 64)', async () => {
    const before = query('SELECT count(*) AS n FROM Actions');
    for (const at of ['now+10m', '2026-02-30T10:00Z', 'tomorrow 3pm']) {
      const result = await rmm('exec', '-t', 'name=q-a', '--at', at, '--', 'true');
      expect(result.exitCode).toBe(64);
      expect(result.stderr).toContain(`--at ${JSON.stringify(at)}:`);
    }
    expect(query('SELECT count(*) AS n FROM Actions')).toEqual(before);
  });
});

describe('rmm actions run', () => {
  it('runs the due actions by priority, then age, leaves the others Pending, and audits each', async () => {
    write("UPDATE Actions SET Status = 'Cancelled' WHERE Status = 'Pending'"); // a clean queue
    const queue = async (name: string, priority: string, at = '2000-01-01T00:00:00Z') =>
      idsOf(
        (
          await rmm(
            'exec',
            '-t',
            `name=${name}`,
            '--at',
            at,
            '--priority',
            priority,
            '--',
            `echo ran-${name}`,
          )
        ).stdout,
      );
    const [low] = await queue('q-a', '9');
    const [high] = await queue('q-b', '1');
    const [middle] = await queue('q-c', '5');
    const [later] = await queue('q-a', '1', '2099-01-01T00:00:00Z');
    const result = await rmm('actions', 'run', '-c', '1', '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.filter((e) => e.status === 'Running').map((e) => e.id)).toEqual([high, middle, low]);
    expect(events.filter((e) => e.status === 'Succeeded').map((e) => e.stdout)).toEqual([
      'ran-q-b\n',
      'ran-q-c\n',
      'ran-q-a\n',
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'summary', Succeeded: 3, Failed: 0 });
    expect(rowsOf([later as string])[0]?.Status).toBe('Pending');
    expect(query('SELECT count(*) AS n FROM AuditLog WHERE Details LIKE ?', `%${high}%`)).toEqual([{ n: 1 }]);

    const nothing = await rmm('actions', 'run');
    expect(nothing.exitCode).toBe(0);
    expect(nothing.stderr).toContain('No actions are due.');
  });

  it('fails an action whose device is no longer in the database, with a clear error (exit 1)', async () => {
    const [id] = idsOf(
      (await rmm('exec', '-t', 'name=q-gone', '--at', '2000-01-01T00:00:00Z', '--', 'true')).stdout,
    );
    await declare(['q-a', 'q-b', 'q-c']);
    const pruned = await rmm('apply', '-f', 'devices.yaml', '--prune', '--auto-approve');
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    const result = await rmm('actions', 'run');
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('--- q-gone: Failed (device "q-gone" is no longer in the database');
    expect(result.stdout).toContain('Run complete: 0 succeeded, 1 failed');
    const [row] = rowsOf([id as string]);
    expect(row?.Status).toBe('Failed');
  });

  it('first ends what a killed runner left Running as Failed, never rerunning it', async () => {
    const child = execa('true');
    await child;
    const [id] = idsOf(
      (await rmm('exec', '-t', 'name=q-a', '--at', '2099-01-01T00:00:00Z', '--', 'true')).stdout,
    );
    write(`UPDATE Actions SET Status = 'Running', StartedAt = CURRENT_TIMESTAMP WHERE ActionId = '${id}';
           INSERT INTO ActionLeases (ActionId, RunnerPid, RunnerHost) VALUES ('${id}', ${child.pid}, '${os.hostname()}')`);
    const result = await rmm('actions', 'run');
    expect(result.exitCode).toBe(0);
    const error = `the runner stopped (pid ${child.pid}) while this ran; it may or may not have completed`;
    expect(result.stderr).toContain(
      `Recovered 1 action a stopped runner left Running, now Failed:\n  ${id} (q-a): ${error}`,
    );
    const [row] = rowsOf([id as string]);
    expect([row?.Status, JSON.parse(row?.Result ?? '{}').error]).toEqual(['Failed', error]);
    expect(query('SELECT * FROM ActionLeases')).toEqual([]);
  });
});

describe('rmm actions list, show, cancel', () => {
  it('lists newest first, filtered by status and device, as a table or JSON', async () => {
    const [id] = idsOf(
      (await rmm('exec', '-t', 'name=q-b', '--at', '2099-01-01T00:00:00Z', '--', 'uptime')).stdout,
    );
    const table = await rmm('actions', 'list', '--status', 'pending', '--device', 'q-b');
    expect(table.exitCode).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^ID +DEVICE +TYPE +STATUS +PRI +DUE \(UTC\) +CREATED \(UTC\) +RESULT$/);
    expect(lines[1]).toMatch(new RegExp(`^${id} +q-b +exec +Pending +5 +2099-01-01 00:00:00 `));
    expect(lines.slice(1).every((l) => / q-b +exec +Pending /.test(l))).toBe(true);
    const json = JSON.parse(
      (await rmm('actions', 'list', '-s', 'Succeeded', '-n', '2', '-o', 'json')).stdout,
    );
    expect(json).toHaveLength(2);
    expect(json[0]).toMatchObject({ status: 'Succeeded', exitCode: 0, error: null, type: 'exec' });
    expect(json[0].createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect((await rmm('actions', 'list', '--status', 'Done')).exitCode).toBe(64);
  });

  it('shows one action with its full result, by id or a unique start of it', async () => {
    const ran = await rmm('exec', '-t', 'name=q-c', '--json', '--', 'echo out; echo err >&2; exit 4');
    const id = JSON.parse(ran.stdout.split('\n')[0] ?? '{}').id as string;
    const text = await rmm('actions', 'show', id.slice(0, 13));
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain(`Action:     ${id}`);
    expect(text.stdout).toContain('Status:     Failed');
    expect(text.stdout).toContain('Command:    echo out; echo err >&2; exit 4');
    expect(text.stdout).toContain('Exit code:  4');
    expect(text.stdout).toMatch(/--- stdout\nout\n--- stderr\nerr$/);
    const json = JSON.parse((await rmm('actions', 'show', id, '-o', 'json')).stdout);
    expect(json).toMatchObject({
      id,
      device: 'q-c',
      status: 'Failed',
      payload: { command: 'echo out; echo err >&2; exit 4', timeoutMs: 300_000 },
      result: { exitCode: 4, stdout: 'out\n', stderr: 'err\n' },
      runner: null,
    });
    expect(json.result.durationMs).toBeGreaterThan(0);
    const missing = await rmm('actions', 'show', 'no-such-id');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('no action "no-such-id"');
  });

  it('cancels Pending actions (audited) and refuses others by their status, exit 1', async () => {
    const [pending] = idsOf(
      (await rmm('exec', '-t', 'name=q-a', '--at', '2099-01-01T00:00:00Z', '--', 'true')).stdout,
    );
    const done = JSON.parse(
      (await rmm('exec', '-t', 'name=q-a', '--json', '--', 'true')).stdout.split('\n')[0] ?? '{}',
    ).id;
    const ok = await rmm('actions', 'cancel', pending as string);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`Cancelled ${pending} (exec on q-a)`);
    const [row] = rowsOf([pending as string]);
    expect([row?.Status, JSON.parse(row?.Result ?? '{}').error]).toEqual([
      'Cancelled',
      'cancelled by queue-test (rmm actions cancel)',
    ]);
    expect(query('SELECT User, Target, Success FROM AuditLog WHERE Details LIKE ?', `%${pending}%`)).toEqual([
      { User: 'queue-test', Target: 'Device/q-a', Success: 0 },
    ]);
    const refused = await rmm('actions', 'cancel', done, pending as string, 'nope');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      `Refused: ${done} (exec on q-a) is Succeeded; only Pending actions can be cancelled`,
    );
    expect(refused.stderr).toContain(
      `Refused: ${pending} (exec on q-a) is Cancelled; only Pending actions can be cancelled`,
    );
    expect(refused.stderr).toContain('Refused: no action "nope"');
  });
});

describe('a database from before ActionLeases', () => {
  it('is caught up by rmm db apply, as any schema change', async () => {
    write("DROP TABLE ActionLeases; UPDATE RmmMeta SET Value = 'older' WHERE Key = 'schema_hash'");
    const behind = await rmm('actions', 'run');
    expect(behind.exitCode).toBe(1);
    expect(behind.stderr).toContain('the database schema is behind schemas/database.yaml');
    const migrated = await rmm('db', 'apply');
    expect(migrated.exitCode, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('ActionLeases');
    expect((await rmm('actions', 'run')).exitCode).toBe(0);
  });
});
