import { existsSync } from 'node:fs';
import path from 'node:path';
import { requireDatabaseFile, requireWritableDatabase } from '../data-dir.js';
import { RmmError } from '../errors.js';
import type { MigrationPlan } from '../formats/migration-step.js';
import { databaseFile } from '../paths.js';
import { type Db, memoryCopy, openDatabase } from './connection.js';
import { loadDeclaredSchema } from './declared-schema.js';
import { pendingMigration } from './pending-migration.js';

/** A database opened for resource work, and the schema steps it is behind schemas/database.yaml. */
export interface ResourceDatabase {
  db: Db;
  file: string;
  migration: MigrationPlan;
}

/**
 * The console database for work on resources. `get` and `export` need it at the declared schema.
 * `plan` and `apply` accept a database behind it when the missing steps are safe: they show them, and
 * apply runs them in its own transaction. Destructive steps stop both, pointing at `rmm db apply`.
 */
export function openResourceDatabase(
  dataDir: string,
  options: { readonly?: boolean; pendingMigration?: boolean } = {},
): ResourceDatabase {
  const file = databaseFile(dataDir);
  requireDatabaseFile(file);
  if (!options.readonly) requireWritableDatabase(file);
  let db = openDatabase(file, { readonly: options.readonly ?? false });
  try {
    const { plan: migration } = pendingMigration(db, loadDeclaredSchema(undefined, schemaCache(dataDir)));
    if (migration.steps.length === 0) return { db, file, migration };
    if (!options.pendingMigration) {
      throw new RmmError('database', 'the database schema is behind schemas/database.yaml', {
        details: [
          'see the pending steps: rmm db plan',
          'apply them: rmm db apply (or rmm apply, which runs them)',
        ],
      });
    }
    if (migration.destructive) {
      throw new RmmError(
        'destructive-refused',
        'the database schema is behind schemas/database.yaml and catching up would lose data; nothing was changed',
        {
          details: [
            ...migration.steps.filter((s) => s.destructive).map((s) => `- ${s.summary}`),
            'review the steps: rmm db plan',
            'apply them knowingly: rmm db apply --allow-destructive',
          ],
        },
      );
    }
    // Planning over pending steps runs them in a transaction that is rolled back: on a copy, so that
    // a read-only plan never takes the write lock, and works for a user who may not write the file.
    if (options.readonly) {
      const copy = memoryCopy(db);
      db.close();
      db = copy;
    }
    return { db, file, migration };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The warm cache of the data directory `rmm init` made, for loadDeclaredSchema; none without one. */
export function schemaCache(dataDir: string): { cacheDir?: string } {
  const cacheDir = path.join(dataDir, 'cache');
  return existsSync(cacheDir) ? { cacheDir } : {};
}
