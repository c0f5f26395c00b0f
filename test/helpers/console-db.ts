import { type Db, openDatabase } from '../../src/state/connection.js';
import { loadDeclaredSchema } from '../../src/state/declared-schema.js';
import { diffSchemas } from '../../src/state/diff.js';
import { inspectDatabase } from '../../src/state/inspect.js';
import { applyMigration } from '../../src/state/migrate.js';
import { planMigration } from '../../src/state/migration-plan.js';

/** A console database file at the packaged schema, opened as rmm opens it, with these devices. */
export function consoleDatabase(file: string, devices: readonly string[] = []): Db {
  const declared = loadDeclaredSchema();
  const db = openDatabase(file);
  applyMigration(db, planMigration(diffSchemas(inspectDatabase(db, declared.seeds), declared)), {
    allowDestructive: false,
  });
  const insert = db.prepare('INSERT INTO Devices (DeviceId, Hostname) VALUES (?, ?)');
  db.transaction(() => {
    for (const device of devices) insert.run(device, device);
  })();
  return db;
}
