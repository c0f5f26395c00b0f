import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/state/connection.js';
import { consoleDb, declare, serviceOn } from './helpers.js';

/**
 * A maintenance window that pauses schedules, against a real database file on an injected clock:
 * the devices it holds get no run while it lasts, then one run when it ends, however often the
 * schedule came due meanwhile; the devices outside it run as usual.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-serve-maintenance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

const HOUR = 3_600_000;
// 01:30 UTC is 02:30 in Paris (CET) on 2026-01-01: inside a nightly 02:00-05:00 window.
const T0 = Date.UTC(2026, 0, 1, 1, 30, 0);

/** web-1 is in group web, under all (whose policy runs `uptime` hourly); db-1 only in all. */
function fleet(db: Db, window: Record<string, unknown>) {
  declare(db, {
    policies: [{ name: 'baseline', schedules: [{ action: 'exec', every: '1h', command: 'uptime' }] }],
    groups: [
      { name: 'all', policy: 'baseline' },
      { name: 'web', parent: 'all' },
    ],
    devices: [
      { name: 'web-1', groups: ['web'] },
      { name: 'db-1', groups: ['all'] },
    ],
  });
  // As apply writes them: the site's zone in Sites, the window in ManagedResources.Settings.
  db.prepare("UPDATE Sites SET Timezone = 'Europe/Paris' WHERE SiteId = 'main'").run();
  db.prepare("INSERT INTO ManagedResources (Kind, Name, Settings) VALUES ('DeviceGroup', 'web', ?)").run(
    JSON.stringify({ maintenance: [window] }),
  );
}

const rows = (db: Db) =>
  (
    db.prepare('SELECT DeviceId, ScheduledAt, Payload FROM Actions ORDER BY rowid').all() as Array<{
      DeviceId: string;
      ScheduledAt: string;
      Payload: string;
    }>
  ).map((r) => [r.DeviceId, r.ScheduledAt, JSON.parse(r.Payload).heldBy ?? null]);

describe('a maintenance window that pauses schedules', () => {
  it('holds the devices in it until it ends, then runs them once; the others run as usual', async () => {
    const db = consoleDb(dir, `m${++counter}`);
    fleet(db, { name: 'patch-night', cron: '0 2 * * *', duration: '3h', pauseSchedules: true });
    const clock = { time: T0 };
    const { service, log } = serviceOn(db, clock);
    await service.tick();
    expect(rows(db)).toEqual([
      ['db-1', '2026-01-01 01:30:00', null],
      // The window ends at 05:00 Paris time, 04:00 UTC.
      ['web-1', '2026-01-01 04:00:00', 'patch-night (group web)'],
    ]);
    expect(log.lines.some((l) => l.fields.heldByMaintenance === 1)).toBe(true);

    // Due again twice during the window: db-1 runs, web-1 keeps its one held run.
    clock.time = T0 + HOUR;
    await service.tick();
    clock.time = T0 + 2 * HOUR;
    await service.tick();
    expect(rows(db).filter(([device]) => device === 'web-1')).toHaveLength(1);
    expect(rows(db).filter(([device]) => device === 'db-1')).toHaveLength(3);

    // Due again as the window ends (04:30 UTC): the held run is this run, not a second one.
    clock.time = T0 + 3 * HOUR;
    await service.tick();
    expect(rows(db).filter(([device]) => device === 'web-1')).toEqual([
      ['web-1', '2026-01-01 04:00:00', 'patch-night (group web)'],
    ]);
    expect(rows(db).filter(([device]) => device === 'db-1')).toHaveLength(4);
    db.close();
  });

  it('without pauseSchedules only keeps alerts quiet: schedules run as usual', async () => {
    const db = consoleDb(dir, `m${++counter}`);
    fleet(db, { name: 'quiet', cron: '0 2 * * *', duration: '3h' });
    const clock = { time: T0 };
    const { service } = serviceOn(db, clock);
    await service.tick();
    expect(rows(db)).toEqual([
      ['db-1', '2026-01-01 01:30:00', null],
      ['web-1', '2026-01-01 01:30:00', null],
    ]);
    expect(service.fleet?.maintenance.maintenanceOf('web-1', T0)).toBe('quiet');
    expect(service.fleet?.maintenance.maintenanceOf('db-1', T0)).toBeNull();
    db.close();
  });

  it('outside the window, the devices in it run as usual', async () => {
    const db = consoleDb(dir, `m${++counter}`);
    fleet(db, { name: 'patch-night', cron: '0 2 * * *', duration: '3h', pauseSchedules: true });
    const clock = { time: T0 - 2 * HOUR };
    const { service } = serviceOn(db, clock);
    await service.tick();
    expect(rows(db).map(([device, , held]) => [device, held])).toEqual([
      ['db-1', null],
      ['web-1', null],
    ]);
    db.close();
  });

  it('is read again when an apply moves the state revision', async () => {
    const db = consoleDb(dir, `m${++counter}`);
    fleet(db, { name: 'quiet', cron: '0 2 * * *', duration: '3h' });
    const clock = { time: T0 };
    const { service } = serviceOn(db, clock);
    await service.tick();
    expect(service.fleet?.maintenance.schedulesHeldBy('web-1', T0)).toBeNull();
    // An apply turns pauseSchedules on: the next tick sees it.
    db.prepare("UPDATE ManagedResources SET Settings = ? WHERE Kind = 'DeviceGroup' AND Name = 'web'").run(
      JSON.stringify({
        maintenance: [{ name: 'quiet', cron: '0 2 * * *', duration: '3h', pauseSchedules: true }],
      }),
    );
    declare(db, {});
    clock.time = T0 + HOUR;
    await service.tick();
    expect(service.fleet?.maintenance.schedulesHeldBy('web-1', clock.time)?.name).toBe('quiet');
    expect(rows(db).slice(2)).toEqual([
      ['db-1', '2026-01-01 02:30:00', null],
      ['web-1', '2026-01-01 04:00:00', 'quiet (group web)'],
    ]);
    db.close();
  });
});
