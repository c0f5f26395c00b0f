import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { toJobs } from '../../src/actions/jobs.js';
import { recoverStaleActions } from '../../src/actions/recover.js';
import { type ActionStore, actionStore } from '../../src/actions/store.js';
import { type Db, openDatabase } from '../../src/state/connection.js';
import { loadDeclaredSchema } from '../../src/state/declared-schema.js';
import { applyMigration } from '../../src/state/migrate.js';
import { pendingMigration } from '../../src/state/pending-migration.js';

/**
 * The queue's bookkeeping on a real database: claims and leases, who ends a row first, and what
 * happens to rows a dead runner left Running.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-recover-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let db: Db;
let counter = 0;
const host = os.hostname();
const me = { pid: process.pid, host };

beforeEach(() => {
  db = openDatabase(path.join(dir, `devices-${++counter}.db`));
  applyMigration(db, pendingMigration(db, loadDeclaredSchema()).plan, { allowDestructive: false });
  return () => db.close();
});

const row = (id: string) =>
  db.prepare('SELECT Status, Result, StartedAt, CompletedAt FROM Actions WHERE ActionId = ?').get(id) as {
    Status: string;
    Result: string | null;
    StartedAt: string | null;
    CompletedAt: string | null;
  };
const leases = () => db.prepare('SELECT ActionId, RunnerPid, RunnerHost FROM ActionLeases').all();
const audits = () =>
  db
    .prepare("SELECT Action, Details, Success FROM AuditLog WHERE Action LIKE 'action.%' ORDER BY LogId")
    .all() as Array<{ Action: string; Details: string; Success: number }>;

/** A pid that existed and is gone: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = execa('true');
  await child;
  return child.pid as number;
}

function queue(store: ActionStore, devices: string[]): string[] {
  return store.create(
    'exec',
    devices,
    { command: 'true', timeoutMs: 10_000, connectTimeoutMs: 1000 },
    {
      priority: 5,
    },
  );
}

describe('the Actions queue', () => {
  it('claims a Pending row once, with a lease; ending it drops the lease and audits it', () => {
    const store = actionStore(db, 'tester', me);
    const [id = ''] = queue(store, ['web-a']);
    expect(store.claim(id)).toBe(true);
    expect(store.claim(id)).toBe(false);
    expect(leases()).toEqual([{ ActionId: id, RunnerPid: process.pid, RunnerHost: host }]);
    expect(row(id).Status).toBe('Running');
    expect(store.finish(id, 'web-a', 'exec', 'Succeeded', { exitCode: 0, durationMs: 5 })).toBe(true);
    expect(store.finish(id, 'web-a', 'exec', 'Failed', { error: 'late', durationMs: 5 })).toBe(false);
    expect(row(id).Status).toBe('Succeeded');
    expect(leases()).toEqual([]);
    expect(audits()).toHaveLength(1);
  });

  it('cancels only Pending rows; a cancelled row can no longer be claimed', () => {
    const store = actionStore(db, 'tester', me);
    const [a = '', b = ''] = queue(store, ['web-a', 'web-b']);
    expect(store.cancelPending(a, 'web-a', 'exec', 'no')).toBe(true);
    expect(store.claim(a)).toBe(false);
    expect(store.claim(b)).toBe(true);
    expect(store.cancelPending(b, 'web-b', 'exec', 'no')).toBe(false);
    expect(row(a).Status).toBe('Cancelled');
    expect(row(b).Status).toBe('Running');
    expect(audits().map((r) => [r.Action, JSON.parse(r.Details).status])).toEqual([
      ['action.exec Device/web-a', 'Cancelled'],
    ]);
  });

  it('gives due rows by priority, then age; not those scheduled later or of unknown types', () => {
    const store = actionStore(db, 'tester', me);
    const payload = { command: 'true' };
    const [late = ''] = store.create('exec', ['a'], payload, {
      priority: 1,
      scheduledAt: '2999-01-01 00:00:00',
    });
    const [low = ''] = store.create('exec', ['b'], payload, { priority: 9 });
    const [first = ''] = store.create('exec', ['c'], payload, {
      priority: 1,
      scheduledAt: '2000-01-01T00:00:00Z',
    });
    const [second = ''] = store.create('exec', ['d'], payload, { priority: 5 });
    const [third = ''] = store.create('exec', ['e'], payload, { priority: 5 });
    store.create('reboot', ['f'], payload, { priority: 1 });
    expect(store.due(10).map((r) => r.ActionId)).toEqual([first, second, third, low]);
    expect(store.due(2).map((r) => r.ActionId)).toEqual([first, second]);
    expect(store.due(10).map((r) => r.ActionId)).not.toContain(late);
  });

  it('resolves devices at run time: a gone device or a payload without a command is a problem', () => {
    const store = actionStore(db, 'tester', me);
    const [gone = ''] = queue(store, ['gone']);
    db.prepare(
      "INSERT INTO Actions (ActionId, DeviceId, ActionType, Payload) VALUES ('bad', 'web', 'exec', 'nope')",
    ).run();
    const jobs = toJobs(store.load([gone, 'bad']), new Map());
    expect(jobs.map((j) => j.problem)).toEqual([
      'device "gone" is no longer in the database',
      'the action has no command (Actions.Payload needs {"command": "..."})',
    ]);
    expect(jobs[0]).toMatchObject({ command: 'true', timeoutMs: 10_000, connectTimeoutMs: 1000 });
  });
});

describe('recoverStaleActions', () => {
  it('fails the Running rows of a dead runner on this host, audited, and leaves live runners alone', async () => {
    const dead = await deadPid();
    const deadRunner = actionStore(db, 'old', { pid: dead, host });
    const liveRunner = actionStore(db, 'other', { pid: process.ppid, host });
    const [a = '', b = '', pending = ''] = queue(deadRunner, ['web-a', 'web-b', 'web-c']);
    const [live = ''] = queue(liveRunner, ['web-d']);
    deadRunner.claim(a);
    deadRunner.claim(b);
    deadRunner.finish(b, 'web-b', 'exec', 'Succeeded', { exitCode: 0, durationMs: 1 });
    liveRunner.claim(live);

    const recovered = recoverStaleActions(db, actionStore(db, 'recoverer', me), me);
    const error = `the runner stopped (pid ${dead}) while this ran; it may or may not have completed`;
    expect(recovered).toEqual([{ id: a, device: 'web-a', status: 'Failed', error }]);
    expect(row(a).Status).toBe('Failed');
    expect(JSON.parse(row(a).Result ?? '{}')).toMatchObject({ error });
    expect(row(a).CompletedAt).not.toBeNull();
    expect([row(b).Status, row(pending).Status, row(live).Status]).toEqual([
      'Succeeded',
      'Pending',
      'Running',
    ]);
    expect(leases()).toEqual([{ ActionId: live, RunnerPid: process.ppid, RunnerHost: host }]);
    const audit = audits().at(-1);
    expect(audit).toMatchObject({ Action: 'action.exec Device/web-a', Success: 0 });
    expect(JSON.parse(audit?.Details ?? '{}')).toMatchObject({ actionId: a, status: 'Failed', error });
    expect(recoverStaleActions(db, actionStore(db, 'recoverer', me), me)).toEqual([]);
  });

  it('cancels, never runs, the rows an exec owned and had not started once it is gone; leaves live and remote owners alone', async () => {
    const dead = await deadPid();
    const own = (runner: { pid: number; host: string }, devices: string[]) =>
      actionStore(db, 'exec', runner).create(
        'exec',
        devices,
        { command: 'true', timeoutMs: 10_000, connectTimeoutMs: 1000 },
        { priority: 5, owned: true },
      );
    const [orphan = '', started = ''] = own({ pid: dead, host }, ['web-a', 'web-b']);
    actionStore(db, 'exec', { pid: dead, host }).claim(started);
    const [live = ''] = own({ pid: process.ppid, host }, ['web-c']);
    const [remote = ''] = own({ pid: 4242, host: 'elsewhere' }, ['web-d']);
    // An hour-old remote owner may still be working through a long list: still not the queue's.
    db.prepare("UPDATE ActionLeases SET LeasedAt = datetime('now', '-1 hour') WHERE ActionId = ?").run(
      remote,
    );
    const [queued = ''] = queue(actionStore(db, 'cron', me), ['web-e']);

    const recoverer = actionStore(db, 'recoverer', me);
    // Owned rows are nobody else's, even before recovery: not due, and not claimable.
    expect(recoverer.due(10).map((r) => r.ActionId)).toEqual([queued]);
    expect(recoverer.claim(orphan)).toBe(false);
    expect(row(orphan).Status).toBe('Pending');

    const recovered = recoverStaleActions(db, recoverer, me);
    const notRun = `the rmm exec (pid ${dead}) that queued this stopped before it started; not run`;
    expect(recovered.map((r) => [r.id, r.status, r.error])).toEqual([
      [orphan, 'Cancelled', notRun],
      [
        started,
        'Failed',
        `the runner stopped (pid ${dead}) while this ran; it may or may not have completed`,
      ],
    ]);
    expect(row(orphan).Status).toBe('Cancelled');
    expect(JSON.parse(row(orphan).Result ?? '{}')).toEqual({ error: notRun, durationMs: 0 });
    expect(row(orphan).StartedAt).toBeNull();
    expect(audits().find((a) => a.Action === 'action.exec Device/web-a')).toMatchObject({ Success: 0 });
    expect([row(live).Status, row(remote).Status, row(queued).Status]).toEqual([
      'Pending',
      'Pending',
      'Pending',
    ]);
    expect(recoverer.due(10).map((r) => r.ActionId)).toEqual([queued]);
    expect(recoverer.claim(live)).toBe(false);
    expect(recoverer.claim(remote)).toBe(false);
    // The owner claims its own; `rmm actions cancel` ends a remote owner's row and drops its lease.
    expect(actionStore(db, 'exec', { pid: process.ppid, host }).claim(live)).toBe(true);
    expect(recoverer.cancelPending(remote, 'web-d', 'exec', 'cancelled by rmm actions cancel')).toBe(true);
    expect(leases()).toEqual([{ ActionId: live, RunnerPid: process.ppid, RunnerHost: host }]);
  });

  it('treats a lease naming its own pid as a dead runner whose pid was reused', () => {
    const store = actionStore(db, 'tester', me);
    const [id = ''] = queue(store, ['web-a']);
    store.claim(id);
    expect(recoverStaleActions(db, store, me).map((r) => r.id)).toEqual([id]);
  });

  it('ends rows of other hosts, and rows with no lease, only once they are older than they may take', () => {
    const store = actionStore(db, 'tester', { pid: 4242, host: 'elsewhere' });
    const [fresh = '', old = '', orphan = ''] = queue(store, ['a', 'b', 'c']);
    for (const id of [fresh, old, orphan]) store.claim(id);
    db.prepare('DELETE FROM ActionLeases WHERE ActionId = ?').run(orphan);
    // 10 s timeout + 3 x 1 s connects + 60 s: older than 73 s is stale.
    db.prepare("UPDATE ActionLeases SET LeasedAt = datetime('now', '-80 seconds') WHERE ActionId = ?").run(
      old,
    );
    db.prepare("UPDATE Actions SET StartedAt = datetime('now', '-80 seconds') WHERE ActionId = ?").run(
      orphan,
    );
    const recovered = recoverStaleActions(db, actionStore(db, 'recoverer', me), me);
    expect(recovered.map((r) => [r.id, r.error])).toEqual([
      [
        old,
        'the runner (pid 4242 on elsewhere) has held this longer than it may take (73 s); it may or may not have completed',
      ],
      [
        orphan,
        'no runner holds this action and it has been Running longer than it may take (73 s); it may or may not have completed',
      ],
    ]);
    expect(row(fresh).Status).toBe('Running');
  });
});
