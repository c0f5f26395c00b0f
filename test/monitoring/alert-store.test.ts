import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { alertStore, type NewAlert } from '../../src/monitoring/alert-store.js';
import { retryWhileBusy } from '../../src/monitoring/busy-retry.js';
import { openDatabase } from '../../src/state/connection.js';
import { consoleDatabase } from '../helpers/console-db.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rmm-alert-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const newFile = () => path.join(dir, `db-${++counter}.db`);

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const rootDisk: NewAlert = {
  device: 'web-01',
  alertType: 'monitor',
  severity: 'Warning',
  title: 'root-disk on web-01',
  message: 'disk.used_percent{mount=/} is 91 (>= 85)',
  source: 'linux-baseline/root-disk',
  instance: 'mount=/',
};

/** A clock the test moves by hand. */
function clock(start = T0) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}
const ids = () => {
  let n = 0;
  return () => `alert-${++n}`;
};
const auditOf = (db: Database.Database) =>
  db
    .prepare(
      "SELECT Timestamp, User, Action, Target, Details FROM AuditLog WHERE Action LIKE 'alert.%' ORDER BY LogId",
    )
    .all()
    .map((r) => {
      const row = r as { Timestamp: string; User: string; Action: string; Target: string; Details: string };
      return { ...row, Details: JSON.parse(row.Details) as unknown };
    });

describe('alertStore against a real SQLite file', () => {
  it('raises one alert per (device, source, instance) while it is open; another instance or a resolved one is separate', () => {
    const db = consoleDatabase(newFile(), ['web-01']);
    try {
      const time = clock();
      const alerts = alertStore(db, { now: time.now, newId: ids() });
      expect(alerts.raise(rootDisk, 'rmm-serve')).toEqual({ outcome: 'raised', id: 'alert-1' });
      time.advance(60_000);
      expect(alerts.raise(rootDisk, 'rmm-serve')).toEqual({ outcome: 'already-open', id: 'alert-1' });
      expect(alerts.raise({ ...rootDisk, instance: 'mount=/var' }, 'rmm-serve')).toEqual({
        outcome: 'raised',
        id: 'alert-3',
      });
      expect(alerts.get('alert-1')).toMatchObject({
        device: 'web-01',
        alertType: 'monitor',
        severity: 'Warning',
        message: 'disk.used_percent{mount=/} is 91 (>= 85)',
        source: 'linux-baseline/root-disk',
        instance: 'mount=/',
        createdAt: '2025-06-01 12:00:00',
        resolvedAt: null,
        autoResolved: false,
      });
      expect(alerts.resolve('alert-1', { by: 'rmm-serve', auto: true })).toBe('changed');
      expect(alerts.raise(rootDisk, 'rmm-serve')).toEqual({ outcome: 'raised', id: 'alert-4' });
      expect(alerts.open().map((a) => a.id)).toEqual(['alert-3', 'alert-4']);
      // Only what changed is audited: the refused duplicate wrote nothing.
      expect(auditOf(db).map((a) => `${a.Action} ${a.Target}`)).toEqual([
        'alert.raise Alert/alert-1',
        'alert.raise Alert/alert-3',
        'alert.resolve Alert/alert-1',
        'alert.raise Alert/alert-4',
      ]);
      expect(db.prepare('SELECT count(*) FROM Alerts').pluck().get()).toBe(3);
    } finally {
      db.close();
    }
  });

  it('a restarted service (a new connection and store) finds the open alert instead of raising it again', () => {
    const file = newFile();
    const first = consoleDatabase(file, ['web-01']);
    alertStore(first, { now: () => T0 }).raise(rootDisk, 'rmm-serve');
    first.close();
    const db = openDatabase(file);
    try {
      const alerts = alertStore(db, { now: () => T0 + 3_600_000 });
      const [open] = alerts.open();
      expect(open?.source).toBe('linux-baseline/root-disk');
      expect(alerts.raise(rootDisk, 'rmm-serve')).toEqual({ outcome: 'already-open', id: open?.id });
      expect(db.prepare('SELECT count(*) FROM Alerts').pluck().get()).toBe(1);
    } finally {
      db.close();
    }
  });

  it('resolve, acknowledge and snooze write their columns and an AuditLog row each, at the clock time, by whom', () => {
    const db = consoleDatabase(newFile(), ['web-01']);
    try {
      const time = clock();
      const alerts = alertStore(db, { now: time.now, newId: ids() });
      alerts.raise(rootDisk, 'rmm-serve');
      time.advance(60_000);
      expect(alerts.acknowledge('alert-1', { by: 'alice', note: 'cleaning /var/log' })).toBe('changed');
      expect(alerts.acknowledge('alert-1', { by: 'bob' })).toBe('unchanged');
      time.advance(60_000);
      expect(alerts.snooze('alert-1', { by: 'alice', until: T0 + 86_400_000 })).toBe('changed');
      expect(alerts.snooze('alert-1', { by: 'alice', until: T0 + 86_400_000 })).toBe('unchanged');
      time.advance(60_000);
      expect(alerts.resolve('alert-1', { by: 'bob', auto: false })).toBe('changed');
      expect(alerts.get('alert-1')).toMatchObject({
        acknowledgedAt: '2025-06-01 12:01:00',
        acknowledgedBy: 'alice',
        snoozedUntil: '2025-06-02 12:00:00',
        resolvedAt: '2025-06-01 12:03:00',
        resolvedBy: 'bob',
        autoResolved: false,
      });
      expect(auditOf(db)).toEqual([
        {
          Timestamp: '2025-06-01 12:00:00',
          User: 'rmm-serve',
          Action: 'alert.raise',
          Target: 'Alert/alert-1',
          Details: {
            device: 'web-01',
            source: 'linux-baseline/root-disk',
            instance: 'mount=/',
            severity: 'Warning',
            message: 'disk.used_percent{mount=/} is 91 (>= 85)',
          },
        },
        {
          Timestamp: '2025-06-01 12:01:00',
          User: 'alice',
          Action: 'alert.acknowledge',
          Target: 'Alert/alert-1',
          Details: { device: 'web-01', source: 'linux-baseline/root-disk', note: 'cleaning /var/log' },
        },
        {
          Timestamp: '2025-06-01 12:02:00',
          User: 'alice',
          Action: 'alert.snooze',
          Target: 'Alert/alert-1',
          Details: { device: 'web-01', source: 'linux-baseline/root-disk', until: '2025-06-02 12:00:00' },
        },
        {
          Timestamp: '2025-06-01 12:03:00',
          User: 'bob',
          Action: 'alert.resolve',
          Target: 'Alert/alert-1',
          Details: { device: 'web-01', source: 'linux-baseline/root-disk', auto: false },
        },
      ]);
      // A resolved alert stays as it was; an unknown id is said to be so.
      for (const change of [
        () => alerts.resolve('alert-1', { by: 'x', auto: true }),
        () => alerts.acknowledge('alert-1', { by: 'x' }),
        () => alerts.snooze('alert-1', { by: 'x', until: T0 }),
      ])
        expect(change()).toBe('not-open');
      expect(alerts.resolve('no-such', { by: 'x', auto: false })).toBe('not-found');
      expect(auditOf(db)).toHaveLength(4);
    } finally {
      db.close();
    }
  });

  it('an alert for a device that is gone is refused without writing anything', () => {
    const db = consoleDatabase(newFile(), ['web-01']);
    try {
      const alerts = alertStore(db, { now: () => T0 });
      expect(alerts.raise({ ...rootDisk, device: 'gone-01' }, 'rmm-serve')).toEqual({
        outcome: 'unknown-device',
      });
      expect(db.prepare('SELECT count(*) FROM Alerts').pluck().get()).toBe(0);
      expect(auditOf(db)).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('beside a writer holding the lock, a raise waits its pauses and lands once, with its audit row', async () => {
    const file = newFile();
    const db = consoleDatabase(file, ['web-01']);
    db.pragma('busy_timeout = 0');
    const other = new Database(file);
    try {
      const alerts = alertStore(db, { now: () => T0, newId: ids() });
      other.exec('BEGIN IMMEDIATE');
      const result = await retryWhileBusy(() => alerts.raise(rootDisk, 'rmm-serve'), {
        delays: [1000, 1000],
        pause: async () => void other.exec('COMMIT'),
      });
      expect(result).toEqual({ written: true, value: { outcome: 'raised', id: 'alert-1' }, busyTries: 1 });
      expect(auditOf(db)).toHaveLength(1);
    } finally {
      other.close();
      db.close();
    }
  });

  it('changeAll checks every id first: one unknown or resolved id changes none; otherwise each changes once, audited', () => {
    const db = consoleDatabase(newFile(), ['web-01']);
    try {
      const time = clock();
      const alerts = alertStore(db, { now: time.now, newId: ids() });
      alerts.raise(rootDisk, 'rmm-serve');
      alerts.raise({ ...rootDisk, instance: 'mount=/var' }, 'rmm-serve');
      alerts.raise({ ...rootDisk, instance: 'mount=/srv' }, 'rmm-serve');
      alerts.resolve('alert-3', { by: 'rmm-serve', auto: true });
      const before = auditOf(db).length;
      const rows = () => db.prepare('SELECT * FROM Alerts ORDER BY AlertId').all();
      const snapshot = rows();

      expect(alerts.changeAll(['alert-1', 'nope', 'alert-3'], { kind: 'acknowledge', by: 'ann' })).toEqual({
        outcome: 'refused',
        refused: [
          { id: 'nope', why: 'not-found' },
          { id: 'alert-3', why: 'not-open' },
        ],
      });
      expect(alerts.changeAll(['alert-1', 'alert-3'], { kind: 'resolve', by: 'ann' }).outcome).toBe(
        'refused',
      );
      expect(rows()).toEqual(snapshot);
      expect(auditOf(db)).toHaveLength(before);

      time.advance(60_000);
      const acked = alerts.changeAll(['alert-1', 'alert-2', 'alert-1'], {
        kind: 'acknowledge',
        by: 'ann',
        note: 'looking',
      });
      expect(acked).toEqual({
        outcome: 'changed',
        results: new Map([
          ['alert-1', 'changed'],
          ['alert-2', 'changed'],
        ]),
      });
      // Acknowledged already: nothing to do, no audit row, not an error.
      expect(alerts.changeAll(['alert-2'], { kind: 'acknowledge', by: 'bob' })).toEqual({
        outcome: 'changed',
        results: new Map([['alert-2', 'unchanged']]),
      });
      expect(alerts.get('alert-2')).toMatchObject({
        acknowledgedBy: 'ann',
        acknowledgedAt: '2025-06-01 12:01:00',
      });
      expect(alerts.changeAll(['alert-1'], { kind: 'resolve', by: 'ann' }).outcome).toBe('changed');
      expect(alerts.get('alert-1')).toMatchObject({ resolvedBy: 'ann', autoResolved: false });
      expect(
        auditOf(db)
          .slice(before)
          .map((a) => `${a.Action} ${a.Target} ${a.User}`),
      ).toEqual([
        'alert.acknowledge Alert/alert-1 ann',
        'alert.acknowledge Alert/alert-2 ann',
        'alert.resolve Alert/alert-1 ann',
      ]);
      expect(auditOf(db)[before]?.Details).toMatchObject({ note: 'looking' });
    } finally {
      db.close();
    }
  });
});
