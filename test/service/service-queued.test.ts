import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queueStore } from '../../src/actions/queue-store.js';
import { actionStore } from '../../src/actions/store.js';
import { credentialPolicy } from '../../src/credentials/policy.js';
import { QueuedStep } from '../../src/service/queued-step.js';
import type { Service } from '../../src/service/service.js';
import { memoryLog } from '../../src/service/service-log.js';
import type { Db } from '../../src/state/connection.js';
import type { QueueRouteConfig } from '../../src/transports/queue-routes.js';
import {
  type FakeQueueOptions,
  fakeFarSide,
  fakeQueuedTransport,
  writeReport,
} from '../helpers/fake-queued-transport.js';
import { consoleDb, declare, serviceOn } from './helpers.js';

/**
 * rmm serve's queue step on an injected clock against a real database and the folder-backed fake
 * queue (its far side runs sh here): due actions of a queued device are submitted, never run
 * directly; reports are collected on later ticks; an overdue action expires; a route that hangs
 * never holds up a tick, and stop() cuts it. The real relay runs the same paths at merge.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'rmm-serve-queued-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = Date.UTC(2026, 11, 3, 10, 0, 0);
const DAY = 86_400_000;
const NO_RELAYS = new Map<string, QueueRouteConfig>();
let files = 0;
let db: Db;
let qdir: string;
let ran: string;
beforeEach(() => {
  files++;
  db = consoleDb(dir, `db-${files}`);
  qdir = path.join(dir, `queue-${files}`);
  ran = path.join(dir, `ran-${files}.txt`);
  declare(db, {
    devices: [
      { name: 'box-01', groups: [] },
      { name: 'box-02', groups: [] },
    ],
  });
  // As apply writes a device's transport: in ManagedResources.Settings. fakequeue is a queued
  // transport, so each device is its own route.
  for (const name of ['box-01', 'box-02'])
    db.prepare("INSERT INTO ManagedResources (Kind, Name, Settings) VALUES ('Device', ?, ?)").run(
      name,
      JSON.stringify({ os: 'linux', transport: { type: 'fakequeue', region: 'eu' } }),
    );
});
afterEach(() => db.close());

function serveWithQueue(clock: { time: number }, fake: Partial<FakeQueueOptions> = {}) {
  const transport = fakeQueuedTransport({ dir: qdir, ...fake });
  const registry = { transports: new Map([['fakequeue', { transport, plugin: 'test' }]]), refused: [] };
  const log = memoryLog();
  let service: Service | undefined;
  const queued = new QueuedStep({
    db,
    store: actionStore(db, 'serve-test'),
    queue: queueStore(db, 'serve-test'),
    registry,
    credentials: credentialPolicy(dir),
    dataDir: dir,
    hooks: {},
    devices: () => new Map((service?.fleet?.devices ?? []).map((d) => [d.name, d])),
    declared: () => NO_RELAYS,
    now: () => clock.time,
    log,
  });
  const parts = serviceOn(db, clock, {
    queue: { registry, credentials: credentialPolicy(dir), concurrency: 4, limit: 100 },
    queued,
  });
  service = parts.service;
  return { service, log, queueLog: log, queued };
}

/** Queued as rmm exec --at queues: the queue's rows, due now. */
function queueExec(device: string): string {
  const [id] = actionStore(db, 'tester').create(
    'exec',
    [device],
    { command: `echo ${device} >> ${ran}; echo hello`, timeoutMs: 10_000, connectTimeoutMs: 1000 },
    { priority: 5 },
  );
  return id as string;
}

const status = (id: string) =>
  db.prepare('SELECT Status FROM Actions WHERE ActionId = ?').pluck().get(id) as string;
const ranLines = () => {
  try {
    return readFileSync(ran, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

describe('rmm serve with queued transports', () => {
  it('submits the due actions a queue carries, collects their reports on a later tick, and expires the overdue', async () => {
    const clock = { time: T0 };
    const { service, queueLog } = serveWithQueue(clock);
    const far = fakeFarSide(qdir, 'box-01', () => clock.time);
    const done = queueExec('box-01');
    const late = queueExec('box-02'); // box-02's far side never comes
    await service.tick();
    await service.idle();
    expect([status(done), status(late)]).toEqual(['Delivered', 'Delivered']);
    expect(db.prepare('SELECT Route FROM ActionDeliveries ORDER BY Route').pluck().all()).toEqual([
      'box-01',
      'box-02',
    ]);
    await far.drain();
    clock.time += 5_000;
    await service.tick();
    await service.idle();
    expect(status(done)).toBe('Succeeded');
    expect(
      JSON.parse(db.prepare('SELECT Result FROM Actions WHERE ActionId = ?').pluck().get(done) as string),
    ).toMatchObject({ exitCode: 0, stdout: 'hello\n' });
    expect(queueLog.lines.map((l) => l.message)).toContain('collected 2 reports from queued transports');
    // A day and the grace later, box-02's action is withdrawn and Expired; its far side never runs it.
    clock.time = T0 + DAY + 5 * 60_000 + 1;
    await service.tick();
    await service.idle();
    expect(status(late)).toBe('Expired');
    await fakeFarSide(qdir, 'box-02', () => clock.time).drain();
    expect(ranLines()).toEqual(['box-01']);
    await service.stop('done');
  });

  it('a queue that cannot be opened: the rows stay Pending with their intent, and the warning comes once a minute, not each tick', async () => {
    const clock = { time: T0 };
    const { service, queueLog } = serveWithQueue(clock, { openFails: 'share unreachable' });
    const id = queueExec('box-01');
    for (let tick = 0; tick < 13; tick++) {
      await service.tick();
      await service.idle();
      clock.time += 5_000;
    }
    expect(status(id)).toBe('Pending');
    const said = queueLog.lines.filter((l) => l.message.includes('share unreachable'));
    // Thirteen passes over 60 s: submitting and collecting each say it at 0 s, and again at 60 s;
    // box-02, an idle device route, is read for its heartbeat at 0 s and 60 s too.
    const once = [
      'fakequeue/box-01: cannot be opened: share unreachable; 1 action(s) stay Pending, to be submitted again by rmm serve or rmm actions collect',
      'fakequeue/box-01: cannot be opened: share unreachable',
      'fakequeue/box-02: cannot be opened: share unreachable',
    ];
    expect(said.map((l) => l.message)).toEqual([...once, ...once]);
    expect(said.every((l) => l.level === 'warn')).toBe(true);
    await service.stop('done');
  });

  it('a queue that never answers holds up no tick; stop() cuts the pass and the rows stay Pending with their intent', async () => {
    const clock = { time: T0 };
    const { service, queueLog } = serveWithQueue(clock, { hangAfterQueue: true });
    const id = queueExec('box-01');
    await service.tick(); // returns although the submit hangs
    clock.time += 5_000;
    await service.tick(); // no second pass while one is going
    expect(status(id)).toBe('Pending');
    await service.stop('SIGTERM');
    expect(status(id)).toBe('Pending');
    expect(db.prepare('SELECT count(*) FROM ActionDeliveries').pluck().get()).toBe(1);
    expect(db.prepare('SELECT count(*) FROM ActionLeases').pluck().get()).toBe(0);
    expect(queueLog.lines.some((l) => /box-01: submit failed: .*stay Pending/.test(l.message))).toBe(true);
  });

  it("a device route's heartbeat gives the device its LastSeen and Status Online; idle device routes are read once a minute", async () => {
    const clock = { time: T0 };
    const { service, queued } = serveWithQueue(clock);
    // Until this process has read them, the monitoring cycle leaves heartbeats alone (what
    // QueueRoutes holds is an earlier run's).
    expect(queued.heartbeatsRead).toBe(false);
    const seen = () =>
      db.prepare("SELECT LastSeen, Status FROM Devices WHERE DeviceId = 'box-01'").get() as {
        LastSeen: string | null;
        Status: string | null;
      };
    const heartbeat = (at: number) =>
      writeReport(qdir, 'box-01', { kind: 'heartbeat', at: new Date(at).toISOString(), detail: {} });
    heartbeat(T0 - 1000);
    await service.tick();
    await service.idle();
    expect(seen()).toEqual({ LastSeen: '2026-12-03 09:59:59', Status: 'Online' });
    expect(queued.heartbeatsRead).toBe(true);
    // Nothing of ours waits there: the next read is a minute after the last, not each tick.
    clock.time = T0 + 30_000;
    heartbeat(clock.time);
    await service.tick();
    await service.idle();
    expect(seen().LastSeen).toBe('2026-12-03 09:59:59');
    clock.time = T0 + 60_000;
    await service.tick();
    await service.idle();
    expect(seen().LastSeen).toBe('2026-12-03 10:00:30');
    // A heartbeat from the device's future is taken as now.
    heartbeat(T0 + DAY);
    clock.time = T0 + 120_000;
    await service.tick();
    await service.idle();
    expect(seen().LastSeen).toBe('2026-12-03 10:02:00');
    await service.stop('done');
  });
});
