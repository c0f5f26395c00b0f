import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { toJobs } from '../../src/actions/jobs.js';
import { type RouteOpener, routeOpener } from '../../src/actions/queue-open.js';
import { type QueueStepContext, runQueueStep } from '../../src/actions/queue-step.js';
import { EXPIRY_GRACE_MS, queueStore } from '../../src/actions/queue-store.js';
import { type QueuedSubmission, submitQueued } from '../../src/actions/queue-submit.js';
import { recoverStaleActions } from '../../src/actions/recover.js';
import type { ActionEvent, ActionHooks } from '../../src/actions/runner.js';
import { actionStore } from '../../src/actions/store.js';
import type { DeviceRecord } from '../../src/actions/targets.js';
import { runQueued, splitQueued } from '../../src/cli/queued-dispatch.js';
import { credentialPolicy } from '../../src/credentials/policy.js';
import type { Transport } from '../../src/plugin/api.js';
import type { Db } from '../../src/state/connection.js';
import { DEFAULT_ACTION_EXPIRY_SECONDS, type QueueRouteConfig } from '../../src/transports/queue-routes.js';
import { consoleDatabase } from '../helpers/console-db.js';
import {
  type FakeQueueOptions,
  fakeFarSide,
  fakeQueuedTransport,
  writeReport,
} from '../helpers/fake-queued-transport.js';

/**
 * The core of queued transports on a real database, with the folder-backed fake queue for faults:
 * intent -> Delivered -> Running -> an end; refused submits; routes that cannot open; untrusted
 * reports; expiry; what recovery does with an intent. The real relay runs the same paths at merge.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-queued-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
let db: Db;
let qdir: string;
let ran: string;
const KEY = { transport: 'fakequeue', route: 'alpha' };
const ROUTES = new Map<string, QueueRouteConfig>([
  ['alpha', { transport: 'fakequeue', name: 'alpha', options: {}, expirySeconds: 3600 }],
  ['beta', { transport: 'fakequeue', name: 'beta', options: {}, expirySeconds: 3600 }],
]);
const device = (name: string): DeviceRecord => ({
  name,
  host: '127.0.0.1',
  os: 'linux',
  site: 'alpha',
  groups: [],
  labels: {},
  transport: { type: 'ssh', user: 'rmm', credentialRef: 'env:RMM_TEST_KEY' },
  queue: { transport: 'fakequeue', route: 'alpha' },
});

beforeEach(() => {
  n++;
  qdir = path.join(dir, `q${n}`);
  ran = path.join(dir, `ran${n}.txt`);
  mkdirSync(path.join(dir, `data${n}`));
  db = consoleDatabase(path.join(dir, `devices-${n}.db`), ['web-01', 'web-02', 'smb-01']);
  return () => db.close();
});

/** A device whose own transport is the queued one: it is its own route (issue 15's SMB queue). */
const selfQueued = (name: string): DeviceRecord => ({
  ...device(name),
  transport: { type: 'fakequeue', region: 'eu', credentialRef: 'env:RMM_TEST_QUEUE_SECRET' },
  queue: null,
});

function harness(options: Partial<FakeQueueOptions> = {}, hooks?: ActionHooks) {
  const transport = fakeQueuedTransport({ dir: qdir, ...options });
  const registry = {
    transports: new Map([['fakequeue', { transport: transport as Transport, plugin: 'test' }]]),
    refused: [],
  };
  const events: ActionEvent[] = [];
  const notices: string[] = [];
  const devices = new Map([
    ['web-01', device('web-01')],
    ['web-02', device('web-02')],
    ['smb-01', selfQueued('smb-01')],
  ]);
  let clock = Date.parse('2026-12-03T10:00:00Z');
  const routes: RouteOpener = routeOpener({
    registry,
    credentials: credentialPolicy(dir),
    routes: ROUTES,
    devices: () => devices,
    dataDir: path.join(dir, `data${n}`),
    connectTimeoutMs: 1000,
  });
  const store = actionStore(db, 'tester');
  const queue = queueStore(db, 'tester');
  const context: QueueStepContext = {
    db,
    store,
    queue,
    routes,
    hooks,
    devices: () => devices,
    now: () => clock,
    onEvent: (e) => events.push(e),
    onNotice: (t) => notices.push(t),
    declared: [KEY],
  };
  const queueActions = (devices: string[], command: (i: number) => string) =>
    devices.map((name, i) => {
      const [id] = store.create(
        'exec',
        [name],
        { command: command(i), timeoutMs: 10_000, connectTimeoutMs: 1000 },
        { priority: 5, owned: true },
      );
      return {
        row: store.load([id as string])[0],
        device: device(name),
        key: KEY,
        expiresAt: new Date(clock + 3600_000).toISOString(),
      } as QueuedSubmission;
    });
  return {
    context,
    events,
    notices,
    store,
    queue,
    setClock: (t: number) => {
      clock = t;
    },
    clock: () => clock,
    queueActions,
    far: fakeFarSide(qdir, 'alpha', () => clock),
  };
}

const appendId = (i: number) => `echo run-${i} >> ${ran}; echo out-${i}`;
const ranLines = () => {
  try {
    return readFileSync(ran, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};
const status = (id: string) =>
  db.prepare('SELECT Status FROM Actions WHERE ActionId = ?').pluck().get(id) as string;

describe('queued actions through a route', () => {
  it('submit: intent, Delivered with the receipt, the lease dropped; reports take it to Succeeded with its output and audit', async () => {
    const h = harness();
    const subs = h.queueActions(['web-01', 'web-02'], appendId);
    const summary = await submitQueued(subs, h.context);
    expect(summary).toEqual({ delivered: 2, failed: 0, waiting: 0 });
    const ids = subs.map((s) => s.row.ActionId);
    expect(ids.map(status)).toEqual(['Delivered', 'Delivered']);
    expect(db.prepare('SELECT count(*) FROM ActionLeases').pluck().get()).toBe(0);
    expect(db.prepare('SELECT Receipt FROM ActionDeliveries ORDER BY Receipt').pluck().all()).toEqual(
      [...ids].sort(),
    );
    await h.far.drain();
    const step = await runQueueStep(h.context);
    expect(step.collected.reports).toBe(4);
    expect(ids.map(status)).toEqual(['Succeeded', 'Succeeded']);
    const result = JSON.parse(
      db.prepare('SELECT Result FROM Actions WHERE ActionId = ?').pluck().get(ids[0]) as string,
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: 'out-0\n' });
    expect(h.events.map((e) => e.status)).toEqual([
      'Delivered',
      'Delivered',
      'Running',
      'Succeeded',
      'Running',
      'Succeeded',
    ]);
    const audit = db
      .prepare("SELECT Action, Success, Details FROM AuditLog WHERE Action LIKE 'action.exec%'")
      .all() as Array<{ Details: string; Success: number }>;
    expect(audit).toHaveLength(2);
    expect(JSON.parse((audit[0] as { Details: string }).Details)).toMatchObject({
      status: 'Succeeded',
      via: 'fakequeue/alpha',
    });
    expect(ranLines().sort()).toEqual(['run-0', 'run-1']);
    // Applying again: nothing waits, nothing changes.
    expect((await runQueueStep(h.context)).collected.reports).toBe(0);
  });

  it('a refused submit ends the row Failed with the transport reason; the others are delivered', async () => {
    const h = harness({ refuse: (a) => (a.device.name === 'web-02' ? 'too big for the queue' : undefined) });
    const subs = h.queueActions(['web-01', 'web-02'], appendId);
    expect(await submitQueued(subs, h.context)).toEqual({ delivered: 1, failed: 1, waiting: 0 });
    expect(status(subs[1]?.row.ActionId as string)).toBe('Failed');
    expect(h.events.find((e) => e.status === 'Failed')?.error).toBe(
      'refused by fakequeue/alpha: too big for the queue',
    );
  });

  it('a route that cannot be opened leaves the rows Pending with their intent, released; the next step submits them', async () => {
    const broken = harness({ openFails: 'connection refused' });
    const subs = broken.queueActions(['web-01'], appendId);
    expect(await submitQueued(subs, broken.context)).toEqual({ delivered: 0, failed: 0, waiting: 1 });
    const id = subs[0]?.row.ActionId as string;
    expect(status(id)).toBe('Pending');
    expect(broken.notices[0]).toMatch(
      /fakequeue\/alpha: cannot be opened: connection refused; 1 action\(s\) stay Pending/,
    );
    expect(db.prepare('SELECT count(*) FROM ActionLeases').pluck().get()).toBe(0);
    // rmm actions run must not run it directly: it is the queue's.
    expect(broken.store.due(10)).toEqual([]);
    const ok = harness();
    const step = await runQueueStep(ok.context);
    expect(step.resubmitted.delivered).toBe(1);
    expect(status(id)).toBe('Delivered');
  });

  it('untrusted reports: unreadable, about an action never sent there, about another route, late: audited, acked, rows unchanged', async () => {
    const h = harness();
    const subs = h.queueActions(['web-01', 'web-02'], appendId);
    await submitQueued(subs, h.context);
    const [a, b] = subs.map((s) => s.row.ActionId) as [string, string];
    // b goes through beta in the database's eyes.
    db.prepare("UPDATE ActionDeliveries SET Route = 'beta' WHERE ActionId = ?").run(b);
    const at = new Date(h.clock()).toISOString();
    writeReport(qdir, 'alpha', '{not json');
    writeReport(qdir, 'alpha', {
      kind: 'finished',
      actionId: '00000000-0000-4000-8000-000000000000',
      at,
      status: 'Succeeded',
      exitCode: 0,
      durationMs: 1,
    });
    writeReport(qdir, 'alpha', {
      kind: 'finished',
      actionId: b,
      at,
      status: 'Succeeded',
      exitCode: 0,
      durationMs: 1,
    });
    writeReport(qdir, 'alpha', {
      kind: 'finished',
      actionId: a,
      at,
      status: 'Failed',
      exitCode: 3,
      durationMs: 1,
    });
    writeReport(qdir, 'alpha', {
      kind: 'finished',
      actionId: a,
      at,
      status: 'Succeeded',
      exitCode: 0,
      durationMs: 1,
    });
    const step = await runQueueStep({ ...h.context, declared: [KEY] });
    expect(step.collected.reports).toBe(5);
    expect(status(a)).toBe('Failed'); // the first end wins; the late one is only audited
    expect(status(b)).toBe('Delivered');
    expect(h.notices).toEqual([
      'fakequeue/alpha: a report could not be read and was dropped: not JSON',
      'fakequeue/alpha: refused a finished report about 00000000-0000-4000-8000-000000000000, an action never delivered to it',
      `fakequeue/alpha: refused a finished report about ${b}, an action delivered through fakequeue/beta`,
    ]);
    const refused = db
      .prepare(
        "SELECT Details FROM AuditLog WHERE Action = 'queue.report-refused fakequeue/alpha' AND Success = 0 ORDER BY LogId",
      )
      .pluck()
      .all() as string[];
    expect(refused.map((d) => JSON.parse(d).why ?? 'invalid')).toEqual([
      'invalid',
      'unknown',
      'other-route',
      'ended',
    ]);
    // Acked: they do not come back.
    expect((await runQueueStep(h.context)).collected.reports).toBe(0);
  });

  it('a hook sees the full output of a queued success (beyond the 64 KiB kept in Result)', async () => {
    const hooks: ActionHooks = { exec: { succeeded: (_job, r) => `saw ${r.stdout.length} bytes` } };
    const h = harness({}, hooks);
    const subs = h.queueActions(['web-01'], () => "head -c 100000 /dev/zero | tr '\\0' x");
    await submitQueued(subs, h.context);
    await h.far.drain();
    await runQueueStep(h.context);
    const result = JSON.parse(db.prepare('SELECT Result FROM Actions').pluck().get() as string);
    expect(result.note).toBe('saw 100000 bytes');
    expect(result.stdout).toHaveLength(64 * 1024);
    expect(result.stdoutDropped).toBe(100000 - 64 * 1024);
  });

  it('expiry: a Delivered row past expiresAt + grace is withdrawn and ends Expired; the far side never runs it', async () => {
    const h = harness();
    const subs = h.queueActions(['web-01'], appendId);
    await submitQueued(subs, h.context);
    const id = subs[0]?.row.ActionId as string;
    h.setClock(h.clock() + 3600_000 + EXPIRY_GRACE_MS - 1);
    expect((await runQueueStep(h.context)).expired).toBe(0);
    h.setClock(h.clock() + 2);
    expect((await runQueueStep(h.context)).expired).toBe(1);
    expect(status(id)).toBe('Expired');
    await h.far.start();
    await h.far.stop();
    expect(ranLines()).toEqual([]);
  });

  it('the far side reports Expired for an action past its expiresAt, and never runs it', async () => {
    const h = harness();
    const subs = h
      .queueActions(['web-01'], appendId)
      .map((s) => ({ ...s, expiresAt: new Date(h.clock() - 1).toISOString() }));
    await submitQueued(subs, h.context);
    await h.far.drain();
    await runQueueStep(h.context);
    expect(status(subs[0]?.row.ActionId as string)).toBe('Expired');
    expect(ranLines()).toEqual([]);
  });

  it('recovery: a dead submitter’s Pending row with an intent is released (not cancelled), and submitted again', async () => {
    const h = harness();
    const [id] = h.store.create(
      'exec',
      ['web-01'],
      { command: appendId(0), timeoutMs: 10_000, connectTimeoutMs: 1000 },
      { priority: 5, owned: true },
    );
    h.queue.recordIntents([
      { actionId: id as string, key: KEY, expiresAt: new Date(h.clock() + 3600_000).toISOString() },
    ]);
    db.prepare('UPDATE ActionLeases SET RunnerPid = 2147483646').run();
    const recovered = recoverStaleActions(db, h.store);
    expect(recovered).toMatchObject([{ id, status: 'Pending' }]);
    expect(status(id as string)).toBe('Pending');
    expect((await runQueueStep(h.context)).resubmitted.delivered).toBe(1);
    await h.far.drain();
    await runQueueStep(h.context);
    expect(status(id as string)).toBe('Succeeded');
    expect(ranLines()).toEqual(['run-0']);
  });

  it('cancelPending refuses a row with an intent: only its queue can withdraw it', () => {
    const h = harness();
    const [id] = h.store.create('exec', ['web-01'], { command: 'true' }, { priority: 5 });
    h.queue.recordIntents([
      { actionId: id as string, key: KEY, expiresAt: new Date(h.clock() + 60_000).toISOString() },
    ]);
    expect(h.store.cancelPending(id as string, 'web-01', 'exec', 'test')).toBe(false);
    expect(status(id as string)).toBe('Pending');
  });
});

describe('rmm exec through a relay (runQueued)', () => {
  const jobsFor = (h: ReturnType<typeof harness>, n: number) => {
    const ids = h.store.create(
      'exec',
      ['web-01', 'web-02'].slice(0, n),
      { command: appendId(7), timeoutMs: 10_000, connectTimeoutMs: 1000 },
      { priority: 5, owned: true },
    );
    return toJobs(
      h.store.load(ids),
      new Map([
        ['web-01', device('web-01')],
        ['web-02', device('web-02')],
      ]),
    );
  };
  const options = (h: ReturnType<typeof harness>, waitMs: number) => ({
    ...h.context,
    declared: ROUTES,
    isQueued: (type: unknown) => type === 'fakequeue',
    hooks: {},
    waitMs,
    signal: new AbortController().signal,
  });

  it('waits for the results while the relay is seen, and shows each as it ends', async () => {
    const h = harness();
    await h.far.start(); // a live far side: runs what arrives, heartbeat sent
    const jobs = jobsFor(h, 2);
    await runQueued(jobs, options(h, 60_000));
    expect(jobs.map((j) => status(j.id))).toEqual(['Succeeded', 'Succeeded']);
    expect(h.events.filter((e) => e.status === 'Succeeded')).toHaveLength(2);
    await h.far.stop();
  });

  it('keeps waiting while reports come one per fetch: more passes than --wait / 100 ms when the reports owe them', async () => {
    // The clock stands still, so only the bound on passes can end the wait: 10 actions owe 20 reports.
    const h = harness({ perFetch: 1 });
    await h.far.start();
    const ids = h.store.create(
      'exec',
      Array.from({ length: 10 }, (_, i) => (i % 2 ? 'web-02' : 'web-01')),
      { command: appendId(8), timeoutMs: 10_000, connectTimeoutMs: 1000 },
      { priority: 5, owned: true },
    );
    const jobs = toJobs(
      h.store.load(ids),
      new Map([
        ['web-01', device('web-01')],
        ['web-02', device('web-02')],
      ]),
    );
    await runQueued(jobs, options(h, 1000));
    await h.far.stop();
    expect(ids.map(status)).toEqual(Array(10).fill('Succeeded'));
  });

  it('a device whose own transport is queued is its own route: its block as options, its secret, a private stateDir, the device itself', async () => {
    process.env.RMM_TEST_QUEUE_SECRET = 'not-shown-anywhere';
    const opened: NonNullable<FakeQueueOptions['opened']> = [];
    const h = harness({ opened });
    const ids = h.store.create(
      'exec',
      ['smb-01', 'web-01'],
      { command: appendId(1), timeoutMs: 10_000, connectTimeoutMs: 1000 },
      { priority: 5, owned: true },
    );
    const jobs = toJobs(
      h.store.load(ids),
      new Map([
        ['smb-01', selfQueued('smb-01')],
        ['web-01', device('web-01')],
      ]),
    );
    expect(splitQueued(jobs, (t) => t === 'fakequeue').queued).toHaveLength(2);
    expect(splitQueued(jobs, () => false).queued.map((j) => j.deviceName)).toEqual(['web-01']);
    const far = fakeFarSide(qdir, 'smb-01', h.clock);
    await far.start();
    try {
      await runQueued(jobs.slice(0, 1), options(h, 60_000));
    } finally {
      await far.stop();
      delete process.env.RMM_TEST_QUEUE_SECRET;
    }
    expect(status(ids[0] as string)).toBe('Succeeded');
    expect(db.prepare('SELECT Transport, Route, ExpiresAt FROM ActionDeliveries').all()).toEqual([
      {
        Transport: 'fakequeue',
        Route: 'smb-01',
        ExpiresAt: new Date(h.clock() + DEFAULT_ACTION_EXPIRY_SECONDS * 1000).toISOString(),
      },
    ]);
    const stateDir = path.join(dir, `data${n}`, 'transports', 'fakequeue');
    expect(opened).toEqual([
      {
        route: 'smb-01',
        options: { region: 'eu' },
        secret: 'not-shown-anywhere',
        stateDir,
        device: { name: 'smb-01', host: '127.0.0.1', os: 'linux' },
      },
    ]);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(JSON.stringify(db.prepare('SELECT * FROM Actions').all())).not.toContain('not-shown-anywhere');
  });

  it("a device route whose options do not fit the transport's schema, or whose secret is missing, stays Pending and says why", async () => {
    const h = harness();
    const bad = { ...selfQueued('smb-01'), transport: { type: 'fakequeue', shelf: 3 } };
    const unset = selfQueued('smb-01');
    for (const [record, why] of [
      [
        bad,
        'fakequeue/smb-01: its options do not fit the fakequeue transport: options must NOT have additional properties',
      ],
      [unset, 'the environment variable RMM_TEST_QUEUE_SECRET is not set'],
    ] as const) {
      const ids = h.store.create('exec', ['smb-01'], { command: 'true' }, { priority: 5, owned: true });
      const opener = routeOpener({
        registry: {
          transports: new Map([
            ['fakequeue', { transport: fakeQueuedTransport({ dir: qdir }), plugin: 't' }],
          ]),
          refused: [],
        },
        credentials: credentialPolicy(dir),
        routes: ROUTES,
        devices: () => new Map([['smb-01', record]]),
        connectTimeoutMs: 1000,
      });
      await runQueued(toJobs(h.store.load(ids), new Map([['smb-01', record]])), {
        ...options(h, 0),
        routes: opener,
      });
      expect(status(ids[0] as string)).toBe('Pending');
      expect(h.notices.at(-1)).toContain(why);
    }
  });

  it('with the relay offline, returns once delivered: the rows stay Delivered, nothing ran', async () => {
    const h = harness();
    const jobs = jobsFor(h, 1);
    await runQueued(jobs, options(h, 60_000));
    expect(jobs.map((j) => status(j.id))).toEqual(['Delivered']);
    expect(ranLines()).toEqual([]);
  });
});
