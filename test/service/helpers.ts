import os from 'node:os';
import path from 'node:path';
import { isAlive } from '../../src/actions/recover.js';
import { actionStore } from '../../src/actions/store.js';
import { scheduleRuns } from '../../src/service/schedule-runs.js';
import { Service, type ServiceOptions } from '../../src/service/service.js';
import { serviceLease } from '../../src/service/service-lease.js';
import { memoryLog } from '../../src/service/service-log.js';
import { type Db, openDatabase } from '../../src/state/connection.js';
import { loadDeclaredSchema } from '../../src/state/declared-schema.js';
import { applyMigration } from '../../src/state/migrate.js';
import { pendingMigration } from '../../src/state/pending-migration.js';
import { STATE_REVISION_KEY } from '../../src/state/resource-store.js';

export const ME = { pid: process.pid, host: os.hostname() };

/** A console database at the declared schema, in a real file. */
export function consoleDb(dir: string, name: string): Db {
  const db = openDatabase(path.join(dir, `${name}.db`));
  applyMigration(db, pendingMigration(db, loadDeclaredSchema()).plan, { allowDestructive: false });
  return db;
}

/** Rows as an apply writes them (unmanaged, which the service reads alike), and the revision bumped. */
export function declare(
  db: Db,
  resources: {
    policies?: Array<{ name: string; schedules: unknown[] }>;
    groups?: Array<{ name: string; policy?: string; parent?: string }>;
    devices?: Array<{ name: string; groups: string[] }>;
  },
): void {
  db.transaction(() => {
    for (const p of resources.policies ?? [])
      db.prepare('INSERT OR REPLACE INTO Policies (PolicyId, Schedules) VALUES (?, ?)').run(
        p.name,
        JSON.stringify(p.schedules),
      );
    for (const g of resources.groups ?? [])
      db.prepare(
        'INSERT OR REPLACE INTO DeviceGroups (GroupId, Name, PolicyId, ParentGroupId) VALUES (?, ?, ?, ?)',
      ).run(g.name, g.name, g.policy ?? null, g.parent ?? null);
    for (const d of resources.devices ?? [])
      db.prepare(
        "INSERT OR REPLACE INTO Devices (DeviceId, Hostname, SiteId, GroupIds) VALUES (?, ?, 'main', ?)",
      ).run(d.name, d.name, JSON.stringify(d.groups));
    db.prepare(
      `INSERT INTO RmmMeta (Key, Value) VALUES (?, '1')
       ON CONFLICT (Key) DO UPDATE SET Value = CAST(Value AS INTEGER) + 1`,
    ).run(STATE_REVISION_KEY);
  })();
}

/** A service on an injected clock, its lease taken; no queue step unless given. */
export function serviceOn(db: Db, clock: { time: number }, extra: Partial<ServiceOptions> = {}) {
  const store = actionStore(db, 'serve-test');
  const lease = serviceLease(db, ME, isAlive);
  lease.acquire(clock.time);
  const log = memoryLog();
  const service = new Service({
    db,
    store,
    lease,
    runs: scheduleRuns(db, store),
    now: () => clock.time,
    log,
    ...extra,
  });
  return { service, log, lease };
}
