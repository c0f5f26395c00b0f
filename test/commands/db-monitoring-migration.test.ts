import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';

// A database made by the rmm before issue 12 (test/fixtures/database-before-monitoring.yaml is that
// release's schemas/database.yaml), holding Metrics with the seed's text timestamps and open and
// resolved alerts, migrated by `rmm db apply` to today's schema: every row kept, timestamps turned
// epoch ms, labels and instances empty.

const cwd = mkdtempSync(path.join(tmpdir(), 'rmm-db-monitoring-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
const dbFile = path.join(cwd, 'data', 'devices.db');
const cli = (...args: string[]) => runCli(args, { cwd });

describe('a database from before monitoring', { timeout: 60_000 }, () => {
  it('migrates with rmm db apply (no destructive step) and keeps its Metrics and Alerts rows', async () => {
    copyFileSync(
      path.join(import.meta.dirname, '..', 'fixtures', 'database-before-monitoring.yaml'),
      path.join(cwd, 'old.yaml'),
    );
    expect((await cli('init', '--schema-file', 'old.yaml')).exitCode).toBe(0);
    const db = new Database(dbFile);
    db.exec(`
      INSERT INTO Devices (DeviceId, Hostname) VALUES ('web-01', 'web-01'), ('web-02', 'web-02');
      INSERT INTO Metrics (DeviceId, MetricType, Value, Unit, Timestamp) VALUES
        ('web-01', 'cpu', 12.5, '%', '2025-03-01 10:00:00'),
        ('web-01', 'cpu', 13.5, '%', '2025-03-01 10:01:00.500'),
        ('web-02', 'memory', 40, '%', 'not a date');
      INSERT INTO Metrics (DeviceId, MetricType, Value) VALUES ('web-02', 'memory', 41);
      INSERT INTO Alerts (AlertId, DeviceId, AlertType, Severity, Title, Source, ResolvedAt) VALUES
        ('a1', 'web-01', 'disk', 'Warning', 'Disk', 'agent', NULL),
        ('a2', 'web-01', 'disk', 'Warning', 'Disk', 'agent', '2025-03-01 11:00:00'),
        ('a3', 'web-01', 'disk', 'Warning', 'Disk', 'agent', '2025-03-02 11:00:00');
    `);
    const defaultStamp = db
      .prepare('SELECT Timestamp FROM Metrics WHERE Unit IS NULL')
      .pluck()
      .get() as string;
    db.close();

    const plan = await cli('db', 'plan');
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toContain('  ~ rebuild table Metrics (');
    expect(plan.stdout).toContain('  + add column Alerts.Instance TEXT');
    expect(plan.stdout).toContain('  + add column Alerts.SnoozedUntil DATETIME');
    expect(plan.stdout).toContain(
      '  + create unique index idx_alerts_open on Alerts (DeviceId, Source, Instance) where ResolvedAt IS NULL',
    );
    // The service's own tables (ServiceLease, ScheduleRuns, Notifications) and the notification kinds' are created too.
    expect(plan.stdout).toContain('  + create table ServiceLease');
    expect(plan.stdout).toContain('  + create table NotificationChannels');
    expect(plan.stdout).toContain('  + create table AlertRoutes');
    // Issue 13's outbox and the maintenance mark on alerts.
    expect(plan.stdout).toContain('  + add column Alerts.Maintenance TEXT');
    expect(plan.stdout).toContain('  + create table Notifications');
    // Issue 14's: the Relay kind, queued delivery, and the relay agent's outbox.
    for (const table of ['Relays', 'ActionDeliveries', 'QueueRoutes', 'RelayOutbox'])
      expect(plan.stdout).toContain(`  + create table ${table}`);
    // Issue 16's: the edit marks and the manifests of the incremental plan, and the triggers that mark.
    for (const table of ['ResourceEdits', 'SourceManifests'])
      expect(plan.stdout).toContain(`  + create table ${table}`);
    expect(plan.stdout).toContain('  + create trigger rmm_edit_devices_update on Devices');
    expect(plan.stdout.match(/\+ create trigger rmm_edit_/g)).toHaveLength(24);
    expect(plan.stdout).toContain('Plan: 47 steps, 0 destructive.');

    const apply = await cli('db', 'apply');
    expect(apply.exitCode, apply.stderr).toBe(0);
    expect(
      queryFile(
        dbFile,
        'SELECT DeviceId, MetricType, Labels, Value, Unit, Timestamp, typeof(Timestamp) AS type FROM Metrics ORDER BY MetricId',
      ),
    ).toEqual([
      {
        DeviceId: 'web-01',
        MetricType: 'cpu',
        Labels: '',
        Value: 12.5,
        Unit: '%',
        Timestamp: Date.UTC(2025, 2, 1, 10, 0, 0),
        type: 'integer',
      },
      {
        DeviceId: 'web-01',
        MetricType: 'cpu',
        Labels: '',
        Value: 13.5,
        Unit: '%',
        Timestamp: Date.UTC(2025, 2, 1, 10, 1, 0, 500),
        type: 'integer',
      },
      // A date nobody can read becomes 0, which the first retention run removes.
      {
        DeviceId: 'web-02',
        MetricType: 'memory',
        Labels: '',
        Value: 40,
        Unit: '%',
        Timestamp: 0,
        type: 'integer',
      },
      {
        DeviceId: 'web-02',
        MetricType: 'memory',
        Labels: '',
        Value: 41,
        Unit: null,
        Timestamp: Date.parse(`${defaultStamp.replace(' ', 'T')}Z`),
        type: 'integer',
      },
    ]);
    expect(
      queryFile(dbFile, 'SELECT AlertId, Instance, SnoozedUntil, ResolvedAt FROM Alerts ORDER BY AlertId'),
    ).toEqual([
      { AlertId: 'a1', Instance: '', SnoozedUntil: null, ResolvedAt: null },
      { AlertId: 'a2', Instance: '', SnoozedUntil: null, ResolvedAt: '2025-03-01 11:00:00' },
      { AlertId: 'a3', Instance: '', SnoozedUntil: null, ResolvedAt: '2025-03-02 11:00:00' },
    ]);
    expect(
      queryFile(
        dbFile,
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'Metrics' ORDER BY name",
      ),
    ).toEqual([{ name: 'idx_metrics_series' }, { name: 'idx_metrics_timestamp' }]);
    const again = await cli('db', 'plan', '--detailed-exitcode');
    expect(again.exitCode, again.stdout).toBe(0);
  });
});
