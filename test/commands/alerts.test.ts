import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertStore, type NewAlert } from '../../src/monitoring/alert-store.js';
import { openDatabase } from '../../src/state/connection.js';
import { runCli } from '../helpers/cli.js';
import { execFile, queryFile } from '../helpers/sqlite.js';

/**
 * rmm alerts list|show|ack|snooze|resolve through the real CLI on a real SQLite file: alerts seeded
 * through the alert store (as rmm serve raises them), changes checked in Alerts and AuditLog.
 */
let cwd: string;
const env = { RMM_ACTOR: 'ops-ann' };
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const dbFile = () => path.join(cwd, 'data', 'devices.db');
const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const ESC = '\u001b';

const YAML = `apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: web}
spec: {}
---
${['web-01', 'web-02', 'db-01']
  .map(
    (name) => `apiVersion: rmm/v1
kind: Device
metadata: {name: ${name}}
spec:
  site: main
  address: 127.0.0.1
  os: linux
  groups: [${name.startsWith('web') ? 'web' : ''}]
`,
  )
  .join('---\n')}`;

const alert = (
  device: string,
  source: string,
  severity: NewAlert['severity'],
  title = `${source} on ${device}`,
): NewAlert => ({
  device,
  alertType: 'monitor',
  severity,
  title,
  message: `${source}: value 97 > 90`,
  source,
  instance: '',
});

/** Ids in creation order: aaaa0001-..., so "aaaa" starts several. */
const id = (n: number) => `aaaa${String(n).padStart(4, '0')}-0000-4000-8000-000000000000`;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-alerts-'));
  await writeFile(path.join(cwd, 'fleet.yaml'), YAML);
  expect((await rmm('init')).exitCode).toBe(0);
  const applied = await rmm('apply', '-f', 'fleet.yaml', '--auto-approve');
  expect(applied.exitCode, applied.stderr).toBe(0);
  // A device row written outside rmm apply, whose name holds a terminal escape.
  execFile(dbFile(), `INSERT INTO Devices (DeviceId, Hostname) VALUES ('evil${ESC}[2J', 'evil')`);
  const db = openDatabase(dbFile());
  try {
    let now = T0;
    let n = 0;
    const alerts = alertStore(db, { now: () => now, newId: () => id(++n) });
    const raise = (a: NewAlert) => {
      now += 60_000;
      return alerts.raise(a, 'rmm-serve');
    };
    raise(alert('web-01', 'baseline/cpu-high', 'Critical')); // 1
    raise(alert('web-02', 'baseline/cpu-high', 'Critical')); // 2
    raise(alert('db-01', 'db/slow', 'Warning')); // 3
    raise(alert('db-01', 'baseline/cpu-high', 'Info')); // 4, resolved below
    raise(alert(`evil${ESC}[2J`, 'baseline/cpu-high', 'Warning', `title ${ESC}]52;c;cGF3bmVk${ESC}\\ here`)); // 5
    alerts.resolve(id(4), { by: 'rmm-serve', auto: true });
  } finally {
    db.close();
  }
  execFile(
    dbFile(),
    `UPDATE Alerts SET NotificationsSent = '[{"channel":"email","at":"2025-06-01T12:02:00Z"}]' WHERE AlertId = '${id(1)}'`,
  );
}, 60_000);
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const alertRows = () => queryFile<Record<string, unknown>>(dbFile(), 'SELECT * FROM Alerts ORDER BY AlertId');
const auditRows = () =>
  queryFile<{ User: string; Action: string; Target: string; Details: string }>(
    dbFile(),
    "SELECT User, Action, Target, Details FROM AuditLog WHERE Action LIKE 'alert.%' ORDER BY LogId",
  );

describe('rmm alerts list', () => {
  it('shows the open alerts newest first, control characters escaped', async () => {
    const result = await rmm('alerts', 'list');
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^ID\s+CREATED \(UTC\)\s+SEVERITY\s+STATE\s+DEVICE\s+SOURCE\s+INSTANCE\s+TITLE$/,
    );
    expect(lines.slice(1).map((l) => l.slice(0, 8))).toEqual([
      'aaaa0005',
      'aaaa0003',
      'aaaa0002',
      'aaaa0001',
    ]);
    expect(lines[1]).toContain('evil\\u001b[2J');
    expect(lines[1]).toContain('title \\u001b]52;c;cGF3bmVk\\u001b\\ here');
    expect(result.stdout).not.toContain(ESC);
    expect(lines[4]).toMatch(
      /^aaaa0001\s+2025-06-01 12:01:00\s+Critical\s+open\s+web-01\s+baseline\/cpu-high\s+baseline\/cpu-high on web-01$/,
    );
  });

  it('filters by state, severity and device selectors; --json has every field', async () => {
    const ids = async (...args: string[]) => {
      const result = await rmm('alerts', 'list', '--json', ...args);
      expect(result.exitCode, result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as Array<{ id: string }>).map((a) => a.id.slice(0, 8));
    };
    expect(await ids('--state', 'resolved')).toEqual(['aaaa0004']);
    expect(await ids('--severity', 'critical')).toEqual(['aaaa0002', 'aaaa0001']);
    expect(await ids('--severity', 'Warning', '--severity', 'Info', '--state', 'resolved')).toEqual([
      'aaaa0004',
    ]);
    expect(await ids('-t', 'group=web')).toEqual(['aaaa0002', 'aaaa0001']);
    expect(await ids('-t', 'name=db-*', '-t', 'name=web-02')).toEqual(['aaaa0003', 'aaaa0002']);
    const [first] = JSON.parse((await rmm('alerts', 'list', '-o', 'json', '-t', 'name=web-01')).stdout);
    expect(first).toEqual({
      id: id(1),
      device: 'web-01',
      alertType: 'monitor',
      severity: 'Critical',
      title: 'baseline/cpu-high on web-01',
      message: 'baseline/cpu-high: value 97 > 90',
      source: 'baseline/cpu-high',
      instance: '',
      createdAt: '2025-06-01T12:01:00Z',
      acknowledgedAt: null,
      acknowledgedBy: null,
      resolvedAt: null,
      resolvedBy: null,
      autoResolved: false,
      snoozedUntil: null,
      maintenance: null,
      notificationsSent: '[{"channel":"email","at":"2025-06-01T12:02:00Z"}]',
    });
  });

  it('a page is bounded by --limit and says how many more match', async () => {
    const result = await rmm('alerts', 'list', '-n', '2');
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(result.stderr.trim()).toBe('2 more alerts match (showing the newest 2); use --limit to see more');
  });

  it('refuses a selector that matches no device, and bad flags', async () => {
    const none = await rmm('alerts', 'list', '-t', 'name=nosuch');
    expect(none.exitCode).toBe(1);
    expect(none.stderr.trim()).toBe('Error: no device matches --target name=nosuch');
    expect((await rmm('alerts', 'list', '--state', 'closed')).exitCode).toBe(64);
    expect((await rmm('alerts', 'list', '--severity', 'Fatal')).exitCode).toBe(64);
  });
});

describe('rmm alerts show', () => {
  it('shows every field and NotificationsSent as stored, by id or a unique start', async () => {
    const result = await rmm('alerts', 'show', 'aaaa0001');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Id:                 ${id(1)}\n`);
    expect(result.stdout).toContain(
      'Notifications sent: [{"channel":"email","at":"2025-06-01T12:02:00Z"}]\n',
    );
    expect(result.stdout).toContain('Created:            2025-06-01T12:01:00Z\n');
    expect(result.stdout).toMatch(
      /History \(AuditLog\):\n {2}2025-06-01T12:01:00Z {2}rmm-serve {2}alert\.raise/,
    );
    const json = JSON.parse((await rmm('alerts', 'show', id(4), '--json')).stdout);
    expect(json).toMatchObject({
      id: id(4),
      resolvedBy: 'rmm-serve',
      autoResolved: true,
      resolvedAt: '2025-06-01T12:05:00Z',
    });
    expect(json.history.map((h: { action: string }) => h.action)).toEqual(['alert.raise', 'alert.resolve']);
  });

  it('escapes control characters on a page; JSON keeps the exact value', async () => {
    const text = await rmm('alerts', 'show', id(5));
    expect(text.stdout).not.toContain(ESC);
    expect(text.stdout).toContain('Device:             evil\\u001b[2J\n');
    const json = JSON.parse((await rmm('alerts', 'show', id(5), '-o', 'json')).stdout);
    expect(json.device).toBe(`evil${ESC}[2J`);
  });

  it('an unknown id is exit 1, an ambiguous start exit 64', async () => {
    const unknown = await rmm('alerts', 'show', 'ffff');
    expect([unknown.exitCode, unknown.stderr.trim()]).toEqual([1, 'Error: no alert "ffff"']);
    const ambiguous = await rmm('alerts', 'show', 'aaaa');
    expect([ambiguous.exitCode, ambiguous.stderr.trim()]).toEqual([
      64,
      'Error: alert id "aaaa" is ambiguous: give more of it',
    ]);
  });
});

describe('rmm alerts ack, snooze and resolve', () => {
  it('refuse the whole command when one id is unknown, ambiguous or resolved: nothing changed', async () => {
    const before = { alerts: alertRows(), audit: auditRows() };
    const cases: Array<[string[], number, string]> = [
      [['ack', 'aaaa0001', 'ffff'], 1, 'Error: no alert "ffff"\n  nothing was changed'],
      [
        ['resolve', 'aaaa0002', 'aaaa0004', 'aaaa'],
        1,
        [
          'Error: 2 alerts cannot be changed',
          `  alert ${id(4)} (baseline/cpu-high on db-01) was resolved at 2025-06-01 12:05:00 UTC; only open alerts can be resolved`,
          '  alert id "aaaa" is ambiguous: give more of it',
          '  nothing was changed',
        ].join('\n'),
      ],
      [['snooze', 'aaaa0001', '--until', '2x'], 64, 'Error: --until "2x": not a duration'],
      [
        ['snooze', 'aaaa0001', '--until', '2020-01-01T00:00:00Z'],
        64,
        'Error: --until "2020-01-01T00:00:00Z": that is in the past',
      ],
      [['snooze', 'aaaa0001', '--until', '0m'], 64, 'Error: --until "0m": a snooze of no time is none'],
      [['snooze', 'aaaa0001'], 64, 'Missing required flag until'],
    ];
    for (const [args, code, message] of cases) {
      const result = await rmm('alerts', ...args);
      expect(result.exitCode, args.join(' ')).toBe(code);
      expect(result.stderr, args.join(' ')).toContain(message);
      expect(result.stdout, args.join(' ')).toBe('');
    }
    expect({ alerts: alertRows(), audit: auditRows() }).toEqual(before);
  });

  it('ack sets who and when for every id, with the note in AuditLog; acking again changes nothing', async () => {
    const start = auditRows().length;
    const result = await rmm('alerts', 'ack', 'aaaa0001', id(2), '--note', 'disk cleanup running');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      `acknowledged: ${id(1)} (baseline/cpu-high on web-01)`,
      `acknowledged: ${id(2)} (baseline/cpu-high on web-02)`,
    ]);
    const rows = alertRows();
    for (const row of rows.slice(0, 2)) {
      expect(row.AcknowledgedBy).toBe('ops-ann');
      expect(
        Math.abs(Date.parse(`${String(row.AcknowledgedAt).replace(' ', 'T')}Z`) - Date.now()),
      ).toBeLessThan(60_000);
      expect(row.ResolvedAt).toBeNull();
    }
    const audit = auditRows().slice(start);
    expect(audit.map((a) => `${a.User} ${a.Action} ${a.Target}`)).toEqual([
      `ops-ann alert.acknowledge Alert/${id(1)}`,
      `ops-ann alert.acknowledge Alert/${id(2)}`,
    ]);
    expect(JSON.parse(audit[0]?.Details ?? '{}')).toMatchObject({
      device: 'web-01',
      note: 'disk cleanup running',
    });

    const again = await rmm('alerts', 'ack', id(1), '--by', 'bob');
    expect(again.exitCode).toBe(0);
    expect(again.stdout.trim()).toBe(`already acknowledged: ${id(1)} (baseline/cpu-high on web-01)`);
    expect(alertRows()[0]?.AcknowledgedBy).toBe('ops-ann');
    expect(auditRows()).toHaveLength(start + 2);

    const listed = await rmm('alerts', 'list', '--state', 'acknowledged', '--json');
    expect(JSON.parse(listed.stdout).map((a: { id: string }) => a.id)).toEqual([id(2), id(1)]);
  });

  it('snooze sets SnoozedUntil from a duration, shown as snoozed in the list', async () => {
    const before = Date.now();
    const result = await rmm('alerts', 'snooze', 'aaaa0003', '--until', '2h', '--by', 'bob');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^snoozed until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: aaaa0003-/);
    const until = Date.parse(`${String(alertRows()[2]?.SnoozedUntil).replace(' ', 'T')}Z`);
    expect(until).toBeGreaterThanOrEqual(before + 2 * 3600_000 - 1000);
    expect(until).toBeLessThanOrEqual(Date.now() + 2 * 3600_000);
    expect(auditRows().at(-1)).toMatchObject({
      User: 'bob',
      Action: 'alert.snooze',
      Target: `Alert/${id(3)}`,
    });
    const list = await rmm('alerts', 'list', '-t', 'name=db-01');
    expect(list.stdout).toMatch(/aaaa0003\s+\S+ \S+\s+Warning\s+snoozed\s+db-01/);
  });

  it('resolve closes them by hand (not auto); a second resolve is refused', async () => {
    const result = await rmm('alerts', 'resolve', id(2), '--actor', 'carol');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(alertRows()[1]).toMatchObject({ ResolvedBy: 'carol', AutoResolved: 0 });
    expect(auditRows().at(-1)).toMatchObject({ User: 'carol', Action: 'alert.resolve' });
    const again = await rmm('alerts', 'resolve', id(2));
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('was resolved at');
  });
});
