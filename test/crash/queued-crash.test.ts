import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, spawnCli } from '../helpers/cli.js';
import { fakeFarSide } from '../helpers/fake-queued-transport.js';
import { execFile, queryFile } from '../helpers/sqlite.js';

/**
 * Queued actions through the real CLI, with a queued transport installed as a third party installs
 * one (test/fixtures/plugins/queue-transport, linked with rmm plugins link) and crashes injected by
 * a real SIGKILL of the rmm process at the exact moment (RMM_FAKEQUEUE_FAULT): after the queue took
 * the actions but before rmm recorded them Delivered; after rmm committed reports but before it
 * acked them. Every time: nothing lost, nothing run twice, checked against the far side's own
 * record (each command appends its device's name to a file) and the rows.
 *
 * The devices' own transport is the queued one, so each device is its own route (issue 15's shape);
 * the far side (fakeFarSide) runs in this test process, reading the same folders.
 */
const cwd = mkdtempSync(path.join(os.tmpdir(), 'rmm-queued-crash-'));
const qdir = path.join(cwd, 'queue');
const ran = path.join(cwd, 'ran.txt');
const env = {
  XDG_DATA_HOME: path.join(cwd, 'xdg-data'),
  XDG_CACHE_HOME: path.join(cwd, 'xdg-cache'),
  XDG_CONFIG_HOME: path.join(cwd, 'xdg-config'),
};
const rmm = (args: string[], extra: Record<string, string> = {}) =>
  runCli(args, { cwd, env: { ...env, ...extra } });
/** A run that kills itself (RMM_FAKEQUEUE_FAULT): how it ended. */
const crashing = async (args: string[], fault: string) => {
  const result = await spawnCli(args, { cwd, env: { ...env, RMM_FAKEQUEUE_FAULT: fault } });
  return { signal: result.signal, stderr: result.stderr };
};
const db = () => path.join(cwd, 'data', 'devices.db');
const clearActions = () => execFile(db(), 'DELETE FROM Actions');
const actionIds = () =>
  query<{ ActionId: string }>('SELECT ActionId FROM Actions')
    .map((r) => r.ActionId)
    .sort();

const query = <T>(sql: string, ...params: unknown[]) => queryFile<T>(db(), sql, ...params);
const statuses = () =>
  Object.fromEntries(
    query<{ DeviceId: string; Status: string }>('SELECT DeviceId, Status FROM Actions').map((r) => [
      r.DeviceId,
      r.Status,
    ]),
  );
const ranLines = () => {
  try {
    return readFileSync(ran, 'utf8').trim().split('\n').filter(Boolean).sort();
  } catch {
    return [];
  }
};
const DEVICES = ['q-01', 'q-02', 'q-03'];
const record = `echo $RMM_ACTION_ID >> ${ran}`;
const deviceById = () =>
  Object.fromEntries(
    query<{ ActionId: string; DeviceId: string }>('SELECT ActionId, DeviceId FROM Actions').map((r) => [
      r.ActionId,
      r.DeviceId,
    ]),
  );

beforeAll(async () => {
  const linked = await rmm([
    'plugins',
    'link',
    path.join(repoRoot, 'test', 'fixtures', 'plugins', 'queue-transport'),
  ]);
  expect(linked.exitCode, linked.stderr).toBe(0);
  expect((await rmm(['init'])).exitCode).toBe(0);
  writeFileSync(
    path.join(cwd, 'devices.yaml'),
    DEVICES.map(
      (name) =>
        `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec: {site: main, os: linux, transport: {type: fakequeue, dir: ${qdir}}}\n`,
    ).join('---\n'),
  );
  const applied = await rmm(['apply', '-f', 'devices.yaml', '--auto-approve']);
  expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
}, 60_000);
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const drainAll = async () => {
  for (const name of DEVICES) await fakeFarSide(qdir, name).drain();
};
const reset = () => {
  rmSync(ran, { force: true });
  rmSync(qdir, { recursive: true, force: true });
};

describe('queued actions through the CLI, with crashes', () => {
  it('rmm exec --wait 0s returns once delivered (exit 75), and --json ends with one queued-at-end object each', async () => {
    reset();
    const result = await rmm(['exec', '-t', 'name=q-0*', '--wait', '0s', '--json', '--', record]);
    expect(result.exitCode, result.stderr).toBe(75);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const atEnd = lines.filter((l) => l.type === 'queued-at-end');
    expect(atEnd.map((l) => [l.device, l.status, l.route]).sort()).toEqual(
      DEVICES.map((d) => [d, 'Delivered', `fakequeue/${d}`]),
    );
    expect(atEnd[0].expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(lines.at(-1)).toMatchObject({ type: 'summary' });
    expect(lines.findIndex((l) => l.type === 'queued-at-end')).toBe(lines.length - 1 - atEnd.length);
    // Collected later: every action once.
    await drainAll();
    expect((await rmm(['actions', 'collect'])).exitCode).toBe(0);
    expect(Object.values(statuses())).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    expect(ranLines()).toEqual(actionIds());
    clearActions();
  });

  it('rmm serve --once submits the due --at actions of queued devices, and a later one collects their results', async () => {
    reset();
    const at = new Date(Date.now() - 60_000).toISOString();
    expect((await rmm(['exec', '-t', 'name=q-0*', '--at', at, '--', record])).exitCode).toBe(0);
    const first = await rmm(['serve', '--once']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(Object.values(statuses())).toEqual(['Delivered', 'Delivered', 'Delivered']);
    expect(first.stderr).toContain('submitted 3 due actions to their queues');
    await drainAll();
    const second = await rmm(['serve', '--once']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toContain('collected 6 reports from queued transports');
    expect(Object.values(statuses())).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    expect(ranLines()).toEqual(actionIds());
    clearActions();
  });

  it('SIGKILL after the queue took the actions, before Delivered: recovery keeps the intents, they go out again, each runs once', async () => {
    reset();
    const killed = await crashing(['exec', '-t', 'name=q-0*', '--', record], 'kill-after-queue');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    // Killed with the rows Pending, leased to the dead exec, their intents written, the work queued.
    expect(Object.values(statuses())).toEqual(['Pending', 'Pending', 'Pending']);
    expect(query<{ n: number }>('SELECT count(*) AS n FROM ActionDeliveries')[0]?.n).toBe(3);
    // Routes are submitted to side by side: the first submit's kill may come before the others'.
    const queuedBefore = DEVICES.map((d) => readdirSync(path.join(qdir, d, 'work')).length);
    expect(queuedBefore.reduce((a, b) => a + b)).toBeGreaterThan(0);
    // The next rmm releases them (never cancels: they may be queued) and submits them again.
    const collect = await rmm(['actions', 'collect']);
    expect(collect.exitCode, collect.stderr).toBe(0);
    expect(collect.stdout).toContain('submitted again 3');
    expect(Object.values(statuses())).toEqual(['Delivered', 'Delivered', 'Delivered']);
    expect(DEVICES.map((d) => readdirSync(path.join(qdir, d, 'work')).length)).toEqual([1, 1, 1]);
    await drainAll();
    await drainAll(); // a second far-side pass finds nothing to run
    expect((await rmm(['actions', 'collect'])).exitCode).toBe(0);
    expect(Object.values(statuses())).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    expect(ranLines()).toEqual(actionIds());
    clearActions();
  });

  it('SIGKILL after the reports were committed, before the ack: they come again and change nothing', async () => {
    reset();
    const delivered = await rmm(['exec', '-t', 'name=q-0*', '--wait', '0s', '--', record]);
    expect(delivered.exitCode, delivered.stderr).toBe(75);
    await drainAll();
    const killed = await crashing(['actions', 'collect'], 'kill-in-ack');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    // Whatever batch was committed before the kill holds; the reports are all still there.
    const committed = Object.values(statuses()).filter((s) => s === 'Succeeded').length;
    expect(committed).toBeGreaterThan(0);
    expect(DEVICES.map((d) => readdirSync(path.join(qdir, d, 'reports')).length)).toEqual([2, 2, 2]);
    const again = await rmm(['actions', 'collect']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(Object.values(statuses())).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    expect(DEVICES.map((d) => readdirSync(path.join(qdir, d, 'reports')).length)).toEqual([0, 0, 0]);
    // Reports about rows already ended are only audited: one end in AuditLog per action.
    for (const id of actionIds())
      expect(
        query<{ n: number }>(
          "SELECT count(*) AS n FROM AuditLog WHERE Action = 'action.exec Device/' || ? AND Details LIKE '%' || ? || '%'",
          deviceById()[id],
          id,
        )[0]?.n,
      ).toBe(1);
    expect(ranLines()).toEqual(actionIds());
  });
});
