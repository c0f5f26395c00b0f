import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { cacheSalt } from '../cache-salt.js';
import { cacheFolder, replacePrivateFile } from '../private-files.js';
import type { DeclaredSchema } from './declared-schema.js';

/**
 * schemas/database.yaml, checked once: parsing it with positions and compiling its JSON Schema cost
 * about 0.13 s, paid by every command that opens the database (exec, get, plan, apply...). A valid
 * file's model is kept in data/cache/schema/, keyed by its text and the cache salt (rmm's code and
 * schemas), so an entry is never stale. Invalid files are never cached: their errors come from the
 * full check. A torn or foreign entry is a miss. A linked schema/ folder is no cache at all
 * (private-files.ts), and only this cache's own entries are ever removed.
 */
export type SchemaModel = Pick<DeclaredSchema, 'tables' | 'seeds' | 'hash'>;

const FORMAT = 1;
const ENTRY = /^[0-9a-f]{64}\.json(\.\d+\.tmp)?$/;

/** The model of a schema file with this text: from the cache, else from `check` (then cached). */
export function cachedSchemaModel(cacheDir: string, text: string, check: () => SchemaModel): SchemaModel {
  const key = createHash('sha256')
    .update(`rmm-schema-cache ${FORMAT}\0${cacheSalt()}\0`)
    .update(text)
    .digest('hex');
  const found = cacheFolder(cacheDir, 'schema', false);
  const hit = found && readEntry(path.join(found, `${key}.json`));
  if (hit) return hit;
  const model = check();
  const dir = found ?? cacheFolder(cacheDir, 'schema', true);
  if (dir) writeEntry(dir, `${key}.json`, { tables: model.tables, seeds: model.seeds, hash: model.hash });
  return model;
}

function readEntry(file: string): SchemaModel | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<SchemaModel>;
    if (!Array.isArray(value.tables) || !Array.isArray(value.seeds) || typeof value.hash !== 'string') return;
    return value as SchemaModel;
  } catch {
    return undefined; // none yet, torn or unreadable: check the file in full
  }
}

function writeEntry(dir: string, name: string, model: SchemaModel): void {
  try {
    // One schema is in use at a time: older entries only take room. A link is removed, never followed.
    for (const entry of readdirSync(dir))
      if (ENTRY.test(entry)) rmSync(path.join(dir, entry), { force: true });
    replacePrivateFile(path.join(dir, name), JSON.stringify(model));
  } catch {
    // A read-only data directory only means no cache.
  }
}
