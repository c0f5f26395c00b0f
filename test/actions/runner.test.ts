import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type Job, toJobs } from '../../src/actions/jobs.js';
import { type ActionEvent, runActions } from '../../src/actions/runner.js';
import { type ActionStore, actionStore } from '../../src/actions/store.js';
import type { DeviceRecord } from '../../src/actions/targets.js';
import { credentialPolicy } from '../../src/credentials/policy.js';
import type { Session, Transport } from '../../src/plugin/api.js';
import { type Db, openDatabase } from '../../src/state/connection.js';
import { loadDeclaredSchema } from '../../src/state/declared-schema.js';
import { applyMigration } from '../../src/state/migrate.js';
import { pendingMigration } from '../../src/state/pending-migration.js';
import type { TransportRegistry } from '../../src/transports/registry.js';

/** The runner with a fake transport: claims, problems, and what Ctrl-C does to what has not started. */
const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let db: Db;
let store: ActionStore;
let counter = 0;
beforeEach(() => {
  db = openDatabase(path.join(dir, `devices-${++counter}.db`));
  applyMigration(db, pendingMigration(db, loadDeclaredSchema()).plan, { allowDestructive: false });
  store = actionStore(db, 'tester');
  return () => db.close();
});

/** Commands `hang` until aborted; anything else prints its own text and exits 0. */
const fake: Transport = {
  apiVersion: 1,
  name: 'fake',
  description: 'test double',
  optionsSchema: { type: 'object' },
  defaultPort: 1,
  batchSize: 2,
  capabilities: { powershell: false, fileTransfer: false, queued: false },
  connect: async () =>
    ({
      exec: (command, options) =>
        new Promise((resolve, reject) => {
          if (command !== 'hang')
            return resolve({ exitCode: 0, stdout: Buffer.from(command), stderr: Buffer.alloc(0) });
          options?.signal?.addEventListener('abort', () => reject(new Error('stopped')), { once: true });
        }),
      close: async () => {},
    }) as Session,
};
const credentials = credentialPolicy('/nonexistent-data-dir', {});
const registry: TransportRegistry = {
  transports: new Map([['fake', { transport: fake, plugin: 'test' }]]),
  refused: [],
};
const record = (name: string, type = 'fake'): DeviceRecord => ({
  name,
  host: '127.0.0.1',
  os: 'linux',
  site: 'main',
  groups: [],
  labels: {},
  transport: { type },
});
const jobsFor = (command: string, devices: DeviceRecord[], queued = devices.map((d) => d.name)): Job[] => {
  const ids = store.create(
    'exec',
    queued,
    { command, timeoutMs: 1000, connectTimeoutMs: 1000 },
    { priority: 5 },
  );
  return toJobs(store.load(ids), new Map(devices.map((d) => [d.name, d])));
};
const statuses = () =>
  Object.fromEntries(
    (
      db.prepare('SELECT DeviceId, Status FROM Actions').all() as Array<{ DeviceId: string; Status: string }>
    ).map((r) => [r.DeviceId, r.Status]),
  );

describe('runActions', () => {
  it('runs what it can, fails a gone device and an unknown transport, skips a row cancelled meanwhile', async () => {
    const devices = [record('a'), record('b', 'carrier-pigeon')];
    const jobs = jobsFor('hello', devices, ['a', 'b', 'gone', 'c']);
    store.cancelPending(jobs[3]?.id ?? '', 'c', 'exec', 'changed my mind');
    const events: ActionEvent[] = [];
    const summary = await runActions(jobs, {
      registry,
      credentials,
      store,
      concurrency: 10,
      signal: new AbortController().signal,
      unstarted: 'cancel',
      onEvent: (e) => events.push(e),
    });
    expect(statuses()).toEqual({ a: 'Succeeded', b: 'Failed', gone: 'Failed', c: 'Cancelled' });
    expect(summary).toMatchObject({ Succeeded: 1, Failed: 2, Cancelled: 1, Running: 0, Pending: 0 });
    const final = (device: string) => events.find((e) => e.device === device && e.status !== 'Running');
    expect(final('a')?.stdout).toBe('hello');
    expect(final('b')?.error).toBe('no transport "carrier-pigeon" is installed (see rmm transports)');
    expect(final('gone')?.error).toBe('device "gone" is no longer in the database');
    expect(final('c')?.error).toBe('ended as Cancelled elsewhere before this runner started it');
    expect(events.filter((e) => e.device === 'c' && e.status === 'Running')).toEqual([]);
    expect(db.prepare('SELECT count(*) AS n FROM ActionLeases').get()).toEqual({ n: 0 });
  });

  it.each([
    ['cancel', 'Cancelled', { Cancelled: 4, Pending: 0 }],
    ['leave', 'Pending', { Cancelled: 2, Pending: 2 }],
  ] as const)(
    'on abort stops the running ones and, with %s, makes the others %s',
    async (unstarted, rest, counts) => {
      const jobs = jobsFor(
        'hang',
        ['a', 'b', 'c', 'd'].map((n) => record(n)),
      );
      const controller = new AbortController();
      const running = new Set<string>();
      const summary = await runActions(jobs, {
        registry,
        credentials,
        store,
        concurrency: 10,
        signal: controller.signal,
        unstarted,
        onEvent: (e) => {
          if (e.status === 'Running') running.add(e.device);
          // batchSize 2: abort once both lanes have started.
          if (running.size === 2) setImmediate(() => controller.abort(new Error('cancelled (Ctrl-C)')));
        },
      });
      expect(statuses()).toEqual({ a: 'Cancelled', b: 'Cancelled', c: rest, d: rest });
      expect(summary).toMatchObject(counts);
      expect(db.prepare('SELECT count(*) AS n FROM ActionLeases').get()).toEqual({ n: 0 });
    },
  );

  it('fails the actions of a transport whose options schema does not compile, naming the plugin', async () => {
    const broken: Transport = { ...fake, name: 'broken', optionsSchema: { type: 'no-such-type' } };
    const withBroken: TransportRegistry = {
      transports: new Map([['broken', { transport: broken, plugin: 'rmm-transport-broken' }]]),
      refused: [],
    };
    const events: ActionEvent[] = [];
    await runActions(jobsFor('hello', [record('x', 'broken')]), {
      registry: withBroken,
      credentials,
      store,
      concurrency: 10,
      signal: new AbortController().signal,
      unstarted: 'cancel',
      onEvent: (e) => events.push(e),
    });
    expect(statuses()).toEqual({ x: 'Failed' });
    expect(events.at(-1)?.error).toMatch(
      /^plugin rmm-transport-broken: transport "broken": optionsSchema does not compile: /,
    );
  });

  it('ends 250 actions in a few transactions, every one audited and reported', async () => {
    const devices = Array.from({ length: 250 }, (_, i) => record(`d${i}`));
    const many: Transport = { ...fake, batchSize: 250 };
    const events: ActionEvent[] = [];
    let transactions = 0;
    const counting: ActionStore = {
      ...store,
      finishMany: (entries) => {
        transactions++;
        return store.finishMany(entries);
      },
    };
    const summary = await runActions(jobsFor('ok', devices), {
      registry: { transports: new Map([['fake', { transport: many, plugin: 'test' }]]), refused: [] },
      credentials,
      store: counting,
      concurrency: 250,
      signal: new AbortController().signal,
      unstarted: 'cancel',
      onEvent: (e) => events.push(e),
    });
    expect(summary.Succeeded).toBe(250);
    expect(transactions).toBeLessThanOrEqual(10);
    expect(events.filter((e) => e.status === 'Succeeded')).toHaveLength(250);
    expect(db.prepare("SELECT count(*) AS n FROM Actions WHERE Status = 'Succeeded'").get()).toEqual({
      n: 250,
    });
    expect(db.prepare("SELECT count(*) AS n FROM AuditLog WHERE Action LIKE 'action.exec %'").get()).toEqual({
      n: 250,
    });
    expect(db.prepare('SELECT count(*) AS n FROM ActionLeases').get()).toEqual({ n: 0 });
  });

  describe('when another writer keeps the database locked', () => {
    /** A transport whose first command takes the lock from another connection before it returns. */
    const locking = (holder: Database.Database): TransportRegistry => {
      let taken = false;
      return {
        transports: new Map([
          [
            'fake',
            {
              plugin: 'test',
              transport: {
                ...fake,
                batchSize: 1,
                connect: async () =>
                  ({
                    exec: async (command: string) => {
                      if (!taken) holder.exec('BEGIN IMMEDIATE');
                      taken = true;
                      return { exitCode: 0, stdout: Buffer.from(command), stderr: Buffer.alloc(0) };
                    },
                    close: async () => {},
                  }) as Session,
              },
            },
          ],
        ]),
        refused: [],
      };
    };

    it('keeps the results and writes them once the lock is released', async () => {
      db.pragma('busy_timeout = 0');
      const holder = new Database(db.name);
      try {
        const notices: string[] = [];
        const events: ActionEvent[] = [];
        const summary = await runActions(jobsFor('ok', [record('a'), record('b')]), {
          registry: locking(holder),
          credentials,
          store,
          concurrency: 1,
          signal: new AbortController().signal,
          unstarted: 'cancel',
          busyRetryDelaysMs: [0, 0, 0],
          onEvent: (e) => events.push(e),
          onNotice: (text) => {
            notices.push(text);
            holder.exec('ROLLBACK');
          },
        });
        expect(notices).toEqual([
          'the database is locked by another writer: results are kept and written once it is free',
        ]);
        expect(summary.Succeeded).toBe(2);
        expect(statuses()).toEqual({ a: 'Succeeded', b: 'Succeeded' });
      } finally {
        if (holder.inTransaction) holder.exec('ROLLBACK');
        holder.close();
      }
    });

    it("waits out the lock for an action type's hook too (what inventory stores), not failing the action", async () => {
      db.pragma('busy_timeout = 0');
      const holder = new Database(db.name);
      try {
        const events: ActionEvent[] = [];
        const summary = await runActions(jobsFor('ok', [record('a')]), {
          registry: locking(holder),
          credentials,
          store,
          concurrency: 1,
          signal: new AbortController().signal,
          unstarted: 'cancel',
          busyRetryDelaysMs: [0, 0, 0],
          hooks: {
            exec: {
              succeeded: () => {
                db.prepare("INSERT INTO AuditLog (Action) VALUES ('hook wrote')").run();
                return 'noted';
              },
            },
          },
          onEvent: (e) => events.push(e),
          onNotice: () => holder.exec('ROLLBACK'),
        });
        expect(summary.Succeeded).toBe(1);
        expect(events.at(-1)).toMatchObject({ device: 'a', status: 'Succeeded', note: 'noted' });
        expect(db.prepare("SELECT count(*) AS n FROM AuditLog WHERE Action = 'hook wrote'").get()).toEqual({
          n: 1,
        });
      } finally {
        if (holder.inTransaction) holder.exec('ROLLBACK');
        holder.close();
      }
    });

    it('gives up after the last retry: shows what ran, marked not recorded, starts nothing more, and fails as locked', async () => {
      db.pragma('busy_timeout = 0');
      const holder = new Database(db.name);
      try {
        const events: ActionEvent[] = [];
        const run = runActions(jobsFor('ok', [record('a'), record('b')]), {
          registry: locking(holder),
          credentials,
          store,
          concurrency: 1,
          signal: new AbortController().signal,
          unstarted: 'cancel',
          busyRetryDelaysMs: [0, 0],
          onEvent: (e) => events.push(e),
        });
        await expect(run).rejects.toMatchObject({
          name: 'RmmError',
          code: 'locked',
          message:
            'another writer kept the write lock on the database past every retry; the results above were not recorded',
        });
        expect(events.filter((e) => e.status !== 'Running')).toEqual([
          expect.objectContaining({
            device: 'a',
            status: 'Succeeded',
            stdout: 'ok',
            error: 'not recorded: the database stayed locked',
          }),
        ]);
        holder.exec('ROLLBACK');
        expect(statuses()).toEqual({ a: 'Running', b: 'Pending' });
      } finally {
        if (holder.inTransaction) holder.exec('ROLLBACK');
        holder.close();
      }
    });
  });
});
