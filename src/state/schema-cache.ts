import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cacheSalt } from '../cache-salt.js';
import type { DeclaredSchema } from './declared-schema.js';

/**
 * schemas/database.yaml, checked once: parsing it with positions and compiling its JSON Schema cost
 * about 0.13 s, paid by every command that opens the database (exec, get, plan, apply...). A valid
 * file's model is kept in data/cache/schema/, keyed by its text and the cache salt (rmm's code and
 * schemas), so an entry is never stale. Invalid files are never cached: their errors come from the
 * full check. A torn or foreign entry is a miss.
 */
export type SchemaModel = Pick<DeclaredSchema, 'tables' | 'seeds' | 'hash'>;

const FORMAT = 1;

/** The model of a schema file with this text: from the cache, else from `check` (then cached). */
export function cachedSchemaModel(cacheDir: string, text: string, check: () => SchemaModel): SchemaModel {
  const dir = path.join(cacheDir, 'schema');
  const key = createHash('sha256')
    .update(`rmm-schema-cache ${FORMAT}\0${cacheSalt()}\0`)
    .update(text)
    .digest('hex');
  const file = path.join(dir, `${key}.json`);
  const hit = readEntry(file);
  if (hit) return hit;
  const model = check();
  writeEntry(dir, file, { tables: model.tables, seeds: model.seeds, hash: model.hash });
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

function writeEntry(dir: string, file: string, model: SchemaModel): void {
  try {
    mkdirSync(dir, { recursive: true });
    // One schema is in use at a time: older entries only take room.
    for (const name of readdirSync(dir)) rmSync(path.join(dir, name), { force: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(model));
    renameSync(temp, file);
  } catch {
    // A read-only data directory only means no cache.
  }
}
