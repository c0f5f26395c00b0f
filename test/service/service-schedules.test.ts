import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/state/connection.js';
import { consoleDb, declare, serviceOn } from './helpers.js';

/**
 * The service's schedules on an injected timeline, against a real database file: a schedule runs
 * at once, then every `every`; runs missed while the service was down run once; a restart does not
 * run them again; an apply (the state revision moving) is picked up; a held write lock is waited out.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-serve-schedules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

function fleet(db: Db) {
  declare(db, {
    policies: [
      {
        name: 'baseline',
        schedules: [
          { action: 'exec', every: '1h', command: 'uptime', priority: 3 },
          { action: 'inventory', every: '24h' },
        ],
      },
    ],
    groups: [{ name: 'all' }, { name: 'web', policy: 'baseline', parent: 'all' }],
    devices: [
      { name: 'web-1', groups: ['web'] },
      { name: 'db-1', groups: ['all'] },
    ],
  });
}

const actions = (db: Db) =>
  db
    .prepare(
      'SELECT DeviceId, ActionType, Status, Priority, ScheduledAt, Payload FROM Actions ORDER BY rowid',
    )
    .all() as Array<{
    DeviceId: string;
    ActionType: string;
    Status: string;
    Priority: number;
    ScheduledAt: string;
    Payload: string;
  }>;

describe('schedules', () => {
  it('queue at once on the devices the policy reaches, as rmm exec --at queues (Pending, due, no owner)', async () => {
    const db = consoleDb(dir, `s${++counter}`);
    fleet(db);
    const clock = { time: T0 };
    const { service } = serviceOn(db, clock);
    await service.tick();
    const rows = actions(db);
    expect(rows.map((r) => [r.DeviceId, r.ActionType, r.Status, r.Priority, r.ScheduledAt])).toEqual([
      ['web-1', 'exec', 'Pending', 3, '2026-01-01 00:00:00'],
      ['web-1', 'inventory', 'Pending', 5, '2026-01-01 00:00:00'],
    ]);
    expect(JSON.parse(rows[0]?.Payload ?? '')).toMatchObject({
      command: 'uptime',
      schedule: 'policy baseline: exec uptime',
    });
    expect(db.prepare('SELECT count(*) AS n FROM ActionLeases').get()).toEqual({ n: 0 });
    db.close();
  });

  it('run again every `every`, and a run missed while down only once', async () => {
    const db = consoleDb(dir, `s${++counter}`);
    fleet(db);
    const clock = { time: T0 };
    const { service } = serviceOn(db, clock);
    await service.tick();
    clock.time = T0 + HOUR / 2;
    await service.tick();
    expect(actions(db)).toHaveLength(2);
    clock.time = T0 + HOUR;
    await service.tick();
    expect(actions(db).map((r) => r.ActionType)).toEqual(['exec', 'inventory', 'exec']);
    // Nine hours without a tick: one exec run, not nine.
    clock.time = T0 + 10 * HOUR;
    await service.tick();
    expect(actions(db).map((r) => r.ActionType)).toEqual(['exec', 'inventory', 'exec', 'exec']);
    db.close();
  });

  it('are not run again by a restarted service; missed ones run once after it', async () => {
    const db = consoleDb(dir, `s${++counter}`);
    fleet(db);
    const clock = { time: T0 };
    const first = serviceOn(db, clock);
    await first.service.tick();
    await first.service.stop('test');
    clock.time = T0 + 60_000;
    const second = serviceOn(db, clock);
    await second.service.tick();
    expect(actions(db)).toHaveLength(2);
    await second.service.stop('test');
    // Down for three days: each schedule once.
    clock.time = T0 + 72 * HOUR;
    const third = serviceOn(db, clock);
    await third.service.tick();
    await third.service.tick();
    expect(actions(db).map((r) => r.ActionType)).toEqual(['exec', 'inventory', 'exec', 'inventory']);
    db.close();
  });

  it('follow an apply: a device added to the group is reached at the next run, without a restart', async () => {
    const db = consoleDb(dir, `s${++counter}`);
    fleet(db);
    const clock = { time: T0 };
    const { service, log } = serviceOn(db, clock);
    await service.tick();
    declare(db, { devices: [{ name: 'web-2', groups: ['web'] }] });
    clock.time = T0 + HOUR;
    await service.tick();
    expect(log.lines.map((l) => l.message)).toContain(
      'an apply moved the state revision: read devices and policies again',
    );
    expect(
      actions(db)
        .slice(2)
        .map((r) => [r.DeviceId, r.ActionType]),
    ).toEqual([
      ['web-1', 'exec'],
      ['web-2', 'exec'],
    ]);
    db.close();
  });

  it('wait out another writer holding the write lock: logged, nothing queued, queued on a later tick', async () => {
    const db = consoleDb(dir, `s${++counter}`);
    fleet(db);
    db.pragma('busy_timeout = 50');
    const clock = { time: T0 };
    const { service, log } = serviceOn(db, clock);
    const other = new Database(db.name);
    other.exec('BEGIN IMMEDIATE');
    await service.tick();
    expect(actions(db)).toHaveLength(0);
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toContain(
      "another writer holds the database's write lock while queuing scheduled runs; trying again next tick",
    );
    expect(service.failures).toBe(0);
    other.exec('COMMIT');
    other.close();
    clock.time = T0 + 5_000;
    await service.tick();
    expect(actions(db)).toHaveLength(2);
    db.close();
  });

  it('leave out a schedule a hand-edited row made unrunnable, saying so', async () => {
    const db = consoleDb(dir, `s${++counter}`);
    declare(db, {
      policies: [
        {
          name: 'odd',
          schedules: [
            { action: 'reboot', every: '1h' },
            { action: 'exec', every: 'soon' },
          ],
        },
      ],
      groups: [{ name: 'g', policy: 'odd' }],
      devices: [{ name: 'd', groups: ['g'] }],
    });
    const { service, log } = serviceOn(db, { time: T0 });
    await service.tick();
    expect(actions(db)).toHaveLength(0);
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'policy odd, schedule 1: action must be inventory or exec; not run',
      'policy odd, schedule 2: every must be a duration such as 1h; not run',
    ]);
    db.close();
  });
});
