import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 4's acceptance: `rmm exec` on 200 devices (one real sshd on a loopback port behind all of
 * them) is killed with SIGKILL at a random moment after actions started. The next runner must find
 * every row: none Running, none lost, the ones killed mid-run Failed with the runner-stopped error
 * (never rerun: their command may have run). Issue 11: the ones never started belonged to that
 * exec, which nobody runs any more, so the next runner ends them Cancelled and runs none of them;
 * each command appends a line to a file on the device, which proves it.
 */
const DEVICES = 200;
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;

const query = <T>(sql: string, ...params: unknown[]): T[] =>
  queryFile<T>(path.join(cwd, 'data', 'devices.db'), sql, ...params);
interface Row {
  ActionId: string;
  DeviceId: string;
  Status: string;
  Result: string | null;
  CompletedAt: string | null;
}
const rows = () =>
  query<Row>('SELECT ActionId, DeviceId, Status, Result, CompletedAt FROM Actions ORDER BY DeviceId');

beforeAll(async () => {
  let transport: string;
  ({ sshd, cwd, env, transport } = await sshWorkspace('rmm-actions-crash-', 'crash-test'));
  const documents = Array.from(
    { length: DEVICES },
    (_, i) => `apiVersion: rmm/v1
kind: Device
metadata: {name: dev-${String(i).padStart(3, '0')}}
spec: {site: main, address: 127.0.0.1, os: linux, transport: {${transport}}}
`,
  );
  await applyDevices({ cwd, env }, documents.join('---\n'));
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm exec killed with SIGKILL on 200 devices', () => {
  it('the next runner leaves no row Running and loses none; rows killed mid-run are Failed, not rerun; rows not started are Cancelled, not run', async () => {
    const ran = path.join(cwd, 'ran.log');
    // 50 wide, so that the kill finds rows in every state: ended, running, not started yet.
    const child = spawnCli(
      ['exec', '-t', 'name=dev-*', '-c', '50', '--', `echo ran >> '${ran}'; sleep 0.2`],
      {
        cwd,
        env,
      },
    );
    let pid: number | undefined;
    try {
      pid = child.pid;
      // A random moment after actions started: once a random number of them (0 to 100 of 200) has
      // ended, so that some are always still running and some waiting when the kill comes.
      const target = Math.floor(Math.random() * 100);
      await waitFor(
        `${target} ended actions and one Running`,
        () => {
          const [counts] = query<{ ended: number; running: number }>(
            `SELECT count(*) FILTER (WHERE Status NOT IN ('Pending', 'Running')) AS ended,
                    count(*) FILTER (WHERE Status = 'Running') AS running FROM Actions`,
          );
          return counts && counts.ended >= target && counts.running > 0 ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 5 },
      );
      expect(child.exitCode, 'exec ended before the kill: nothing was tested').toBeNull();
      child.kill('SIGKILL');
      const killed = await child;
      expect(killed.signal).toBe('SIGKILL');
      console.log(`actions crash test: killed once ${target} or more actions had ended`);
    } finally {
      child.kill('SIGKILL');
    }

    const atKill = rows();
    expect(atKill).toHaveLength(DEVICES);
    const byStatus = (list: Row[], status: string) => list.filter((r) => r.Status === status);
    const running = byStatus(atKill, 'Running');
    const pending = byStatus(atKill, 'Pending');
    const ended = atKill.filter((r) => r.Status !== 'Running' && r.Status !== 'Pending');
    console.log(
      `actions crash test: at the kill ${ended.length} ended, ${running.length} running, ${pending.length} pending`,
    );
    expect(running.length).toBeGreaterThan(0);
    expect(pending.length).toBeGreaterThan(0);
    // Each Running row, and each the exec had queued but not started, names it in its lease.
    expect(
      query<{ n: number }>('SELECT count(*) AS n FROM ActionLeases WHERE RunnerPid = ?', pid)[0]?.n,
    ).toBe(running.length + pending.length);

    const next = await runCli(['actions', 'run'], { cwd, env });
    expect(next.stderr).toContain(`Recovered ${running.length} action`);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toContain('No actions are due.');

    const after = rows();
    expect(after).toHaveLength(DEVICES);
    expect(new Set(after.map((r) => r.DeviceId)).size).toBe(DEVICES);
    expect(byStatus(after, 'Running')).toEqual([]);
    const finalOrPending = ['Pending', 'Succeeded', 'Failed', 'TimedOut', 'Unreachable', 'Cancelled'];
    expect(after.filter((r) => !finalOrPending.includes(r.Status))).toEqual([]);
    const now = new Map(after.map((r) => [r.ActionId, r]));
    const error = `the runner stopped (pid ${pid}) while this ran; it may or may not have completed`;
    for (const r of running) {
      expect(now.get(r.ActionId)?.Status).toBe('Failed');
      expect(JSON.parse(now.get(r.ActionId)?.Result ?? '{}').error).toBe(error);
    }
    // What had ended stays as it was; what had not started ran now, once.
    for (const r of ended) expect(now.get(r.ActionId)).toEqual(r);
    const notRun = `the rmm exec (pid ${pid}) that queued this stopped before it started; not run`;
    for (const r of pending) {
      expect(now.get(r.ActionId)?.Status).toBe('Cancelled');
      expect(JSON.parse(now.get(r.ActionId)?.Result ?? '{}').error).toBe(notRun);
    }
    // Every command that ran appended one line; only rows that had started can have run.
    const lines = (await readFile(ran, 'utf8')).split('\n').filter(Boolean).length;
    expect(lines).toBeGreaterThanOrEqual(ended.length);
    expect(lines).toBeLessThanOrEqual(ended.length + running.length);
    expect(query('SELECT * FROM ActionLeases')).toEqual([]);
    const audited = query<{ n: number }>(
      "SELECT count(*) AS n FROM AuditLog WHERE Action = 'action.exec Device/' || substr(Target, 8) AND Details LIKE ?",
      `%runner stopped (pid ${pid})%`,
    )[0]?.n;
    expect(audited).toBe(running.length);
    const cancelled = query<{ n: number }>(
      "SELECT count(*) AS n FROM AuditLog WHERE Details LIKE ? AND Details LIKE '%Cancelled%'",
      `%rmm exec (pid ${pid}) that queued this%`,
    )[0]?.n;
    expect(cancelled).toBe(pending.length);
  }, 60_000);
});
