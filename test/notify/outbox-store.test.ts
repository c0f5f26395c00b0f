import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dueRepeats } from '../../src/notify/owe.js';
import type { NamedRoute } from '../../src/notify/routes.js';
import { consoleDatabase } from '../helpers/console-db.js';
import { clock, cpuAlert, outboxRows, storesWithOutbox } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rmm-outbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => path.join(dir, `db-${++files}.db`);

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const grouped: NamedRoute[] = [
  { name: 'to-ops', spec: { channels: ['ops-hook', 'oncall-mail'], groupWait: '30s' } },
];
const devices = ['web-01', 'web-02', 'web-03'];

describe('the outbox, written with the alert change that owes it (real SQLite)', () => {
  it('a raise owes one row per channel, in the same transaction; alerts of one site and source within groupWait join it', () => {
    const db = consoleDatabase(newFile(), devices);
    try {
      const time = clock(T0);
      const { alerts } = storesWithOutbox(db, { now: time.now, routes: grouped, devices });
      alerts.raise(cpuAlert('web-01'), 'rmm serve');
      time.advance(10_000);
      alerts.raise(cpuAlert('web-02'), 'rmm serve');
      alerts.raise(cpuAlert('web-03', 'linux-baseline/disk-full'), 'rmm serve');
      time.advance(20_000); // the first rows are ready now: a later alert starts new rows
      alerts.raise(cpuAlert('web-03'), 'rmm serve');
      const rows = outboxRows(db).map((r) => [r.Channel, r.Event, JSON.parse(r.AlertIds), r.ReadyAt - T0]);
      expect(rows).toEqual([
        ['ops-hook', 'fire', ['alert-1', 'alert-2'], 30_000],
        ['oncall-mail', 'fire', ['alert-1', 'alert-2'], 30_000],
        ['ops-hook', 'fire', ['alert-3'], 40_000],
        ['oncall-mail', 'fire', ['alert-3'], 40_000],
        ['ops-hook', 'fire', ['alert-4'], 60_000],
        ['oncall-mail', 'fire', ['alert-4'], 60_000],
      ]);
    } finally {
      db.close();
    }
  });

  it('groupWait 0s: one row per alert, ready at once', () => {
    const db = consoleDatabase(newFile(), devices);
    try {
      const time = clock(T0);
      const routes: NamedRoute[] = [{ name: 'r', spec: { channels: ['ops-hook'], groupWait: '0s' } }];
      const { alerts } = storesWithOutbox(db, { now: time.now, routes, devices });
      for (const d of devices) alerts.raise(cpuAlert(d), 'rmm serve');
      expect(outboxRows(db).map((r) => [JSON.parse(r.AlertIds), r.ReadyAt - T0])).toEqual([
        [['alert-1'], 0],
        [['alert-2'], 0],
        [['alert-3'], 0],
      ]);
    } finally {
      db.close();
    }
  });

  it('an outbox write that fails undoes the alert change: neither the alert nor its audit row is written', () => {
    const db = consoleDatabase(newFile(), devices);
    try {
      const time = clock(T0);
      const { alerts } = storesWithOutbox(db, { now: time.now, routes: grouped, devices });
      db.exec(
        `CREATE TRIGGER outbox_full BEFORE INSERT ON Notifications BEGIN SELECT RAISE(ABORT, 'outbox full'); END`,
      );
      expect(() => alerts.raise(cpuAlert('web-01'), 'rmm serve')).toThrow('outbox full');
      expect(db.prepare('SELECT count(*) FROM Alerts').pluck().get()).toBe(0);
      expect(db.prepare("SELECT count(*) FROM AuditLog WHERE Action LIKE 'alert.%'").pluck().get()).toBe(0);
      db.exec('DROP TRIGGER outbox_full');
      expect(alerts.raise(cpuAlert('web-01'), 'rmm serve')).toMatchObject({ outcome: 'raised' });
      // The resolve's rows fail likewise: the alert stays open.
      db.exec(
        `CREATE TRIGGER outbox_full BEFORE INSERT ON Notifications BEGIN SELECT RAISE(ABORT, 'outbox full'); END`,
      );
      const id = alerts.open()[0]?.id as string;
      expect(() => alerts.resolve(id, { by: 'rmm serve', auto: true })).toThrow('outbox full');
      expect(alerts.get(id)?.resolvedAt).toBeNull();
    } finally {
      db.close();
    }
  });

  it('a resolve owes rows to routes that notify on resolve; an already-open raise owes nothing more', () => {
    const db = consoleDatabase(newFile(), devices);
    try {
      const time = clock(T0);
      const routes: NamedRoute[] = [
        { name: 'loud', spec: { channels: ['ops-hook'], groupWait: '0s' } },
        { name: 'quiet', spec: { channels: ['oncall-mail'], groupWait: '0s', notifyOnResolve: false } },
      ];
      const { alerts } = storesWithOutbox(db, { now: time.now, routes, devices });
      const raised = alerts.raise(cpuAlert('web-01'), 'rmm serve');
      expect(alerts.raise(cpuAlert('web-01'), 'rmm serve')).toMatchObject({ outcome: 'already-open' });
      alerts.resolve((raised as { id: string }).id, { by: 'rmm serve', auto: true });
      expect(outboxRows(db).map((r) => [r.Channel, r.Event])).toEqual([
        ['ops-hook', 'fire'],
        ['oncall-mail', 'fire'],
        ['ops-hook', 'resolve'],
      ]);
    } finally {
      db.close();
    }
  });

  it('in a maintenance window an alert is recorded, marked with the window, and owes nothing; nor does its resolve', () => {
    const db = consoleDatabase(newFile(), devices);
    try {
      const time = clock(T0);
      const windowEnd = T0 + 3_600_000;
      const maintenanceOf = (device: string, at: number) =>
        device === 'web-01' && at < windowEnd ? 'patch-night' : null;
      const { alerts } = storesWithOutbox(db, { now: time.now, routes: grouped, devices, maintenanceOf });
      const quiet = alerts.raise(cpuAlert('web-01'), 'rmm serve') as { id: string };
      alerts.raise(cpuAlert('web-02'), 'rmm serve');
      expect(alerts.get(quiet.id)?.maintenance).toBe('patch-night');
      expect(outboxRows(db).map((r) => JSON.parse(r.AlertIds))).toEqual([['alert-2'], ['alert-2']]);
      time.advance(2 * 3_600_000); // after the window: nobody heard of the fire, so no resolve either
      alerts.resolve(quiet.id, { by: 'rmm serve', auto: true });
      expect(outboxRows(db)).toHaveLength(2);
      const audit = db
        .prepare("SELECT Details FROM AuditLog WHERE Action = 'alert.raise' ORDER BY LogId")
        .pluck()
        .all();
      expect(JSON.parse(audit[0] as string)).toMatchObject({ maintenance: 'patch-night' });
    } finally {
      db.close();
    }
  });

  it('an alert resolved during a window is marked and notifies nobody', () => {
    const db = consoleDatabase(newFile(), devices);
    try {
      const time = clock(T0);
      const maintenanceOf = (_device: string, at: number) => (at >= T0 + 60_000 ? 'reboot' : null);
      const routes: NamedRoute[] = [{ name: 'r', spec: { channels: ['ops-hook'], groupWait: '0s' } }];
      const { alerts } = storesWithOutbox(db, { now: time.now, routes, devices, maintenanceOf });
      const raised = alerts.raise(cpuAlert('web-01'), 'rmm serve') as { id: string };
      time.advance(60_000);
      alerts.resolve(raised.id, { by: 'rmm serve', auto: true });
      expect(alerts.get(raised.id)?.maintenance).toBe('reboot');
      expect(outboxRows(db).map((r) => r.Event)).toEqual(['fire']);
    } finally {
      db.close();
    }
  });
});

describe('rows edited by hand (real SQLite)', () => {
  it('a NotificationsSent that is not a JSON array is left alone and the outcome is still recorded; unreadable AlertIds are never due', () => {
    const db = consoleDatabase(newFile(), devices);
    try {
      const time = clock(T0);
      const routes: NamedRoute[] = [{ name: 'r', spec: { channels: ['ops-hook'], groupWait: '0s' } }];
      const { alerts, outbox } = storesWithOutbox(db, { now: time.now, routes, devices });
      alerts.raise(cpuAlert('web-01'), 'rmm serve');
      alerts.raise(cpuAlert('web-02'), 'rmm serve');
      db.prepare("UPDATE Alerts SET NotificationsSent = 'sent by hand' WHERE AlertId = 'alert-1'").run();
      db.prepare("UPDATE Notifications SET AlertIds = 'not json' WHERE NotificationId = 'n-2'").run();
      const due = outbox.due(T0, 10);
      expect(due.map((r) => r.id)).toEqual(['n-1']);
      const delivered = { status: 'Delivered' as const, answer: 'HTTP 200 OK', nextAttemptAt: T0 };
      expect(outbox.recordMany([{ id: 'n-1', attempt: delivered }], T0)).toEqual([true]);
      const rows = db.prepare('SELECT AlertId, NotificationsSent FROM Alerts ORDER BY AlertId').all();
      expect(rows).toEqual([
        { AlertId: 'alert-1', NotificationsSent: 'sent by hand' },
        { AlertId: 'alert-2', NotificationsSent: null },
      ]);
      expect(outboxRows(db).map((r) => r.Status)).toEqual(['Delivered', 'Pending']);
    } finally {
      db.close();
    }
  });
});

describe('repeats, computed from the outbox (real SQLite, injected clock)', () => {
  it('an open, unacknowledged, unsnoozed alert repeats every repeatEvery; acknowledged or snoozed ones stay quiet', () => {
    const db = consoleDatabase(newFile(), devices);
    try {
      const time = clock(T0);
      const routes: NamedRoute[] = [
        { name: 'r', spec: { channels: ['ops-hook'], groupWait: '0s', repeatEvery: '1h' } },
      ];
      const { alerts, outbox, state } = storesWithOutbox(db, { now: time.now, routes, devices });
      for (const d of devices) alerts.raise(cpuAlert(d), 'rmm serve');
      const repeatsNow = () =>
        dueRepeats(alerts.open(), outbox.lastNotified(['ops-hook']), state, {
          now: time.now(),
          maintenanceOf: () => null,
        }).map((r) => r.alert.id);
      // Their fire rows are still Pending (undelivered): nothing piles up behind them.
      time.advance(3_600_000);
      expect(repeatsNow()).toEqual([]);
      db.prepare("UPDATE Notifications SET Status = 'Delivered'").run();
      expect(repeatsNow()).toEqual(['alert-1', 'alert-2', 'alert-3']);
      alerts.acknowledge('alert-2', { by: 'ann' });
      alerts.snooze('alert-3', { by: 'ann', until: time.now() + 7_200_000 });
      expect(repeatsNow()).toEqual(['alert-1']);
      // Owed and written: the next repeat is an hour after this one.
      for (const due of dueRepeats(alerts.open(), outbox.lastNotified(['ops-hook']), state, {
        now: time.now(),
        maintenanceOf: () => null,
      }))
        outbox.owe(
          { id: due.alert.id, site: due.site, source: due.alert.source },
          'repeat',
          [due.target],
          time.now(),
        );
      db.prepare("UPDATE Notifications SET Status = 'Delivered'").run();
      time.advance(3_599_000);
      expect(repeatsNow()).toEqual([]);
      time.advance(1_000);
      expect(repeatsNow()).toEqual(['alert-1']);
      time.advance(3_600_000); // the snooze is over
      expect(repeatsNow()).toEqual(['alert-1', 'alert-3']);
    } finally {
      db.close();
    }
  });
});
