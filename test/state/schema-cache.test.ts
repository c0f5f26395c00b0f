import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseSchemaFile } from '../../src/paths.js';
import { loadDeclaredSchema } from '../../src/state/declared-schema.js';

/** The warm cache of schemas/database.yaml's checked model (src/state/schema-cache.ts). */
let dir: string;
let cacheDir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-schema-cache-'));
  cacheDir = path.join(dir, 'cache');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entries = async () => readdir(path.join(cacheDir, 'schema')).catch(() => [] as string[]);

describe('the declared-schema cache', () => {
  it('gives the same model as a full check, and reads it from the cache the second time', async () => {
    const full = loadDeclaredSchema(databaseSchemaFile);
    const first = loadDeclaredSchema(databaseSchemaFile, { cacheDir });
    expect(first).toEqual(full);
    const [entry] = await entries();
    expect(entry).toMatch(/^[0-9a-f]{64}\.json$/);

    // Proof that a hit skips the check: a doctored entry comes back as it is.
    const file = path.join(cacheDir, 'schema', entry as string);
    const model = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...model, hash: 'from-the-cache' }));
    expect(loadDeclaredSchema(databaseSchemaFile, { cacheDir }).hash).toBe('from-the-cache');
  });

  it('treats a torn entry as a miss and writes it again', async () => {
    loadDeclaredSchema(databaseSchemaFile, { cacheDir });
    const [entry] = await entries();
    const file = path.join(cacheDir, 'schema', entry as string);
    await writeFile(file, '{"tables": [');
    expect(loadDeclaredSchema(databaseSchemaFile, { cacheDir })).toEqual(
      loadDeclaredSchema(databaseSchemaFile),
    );
    expect(JSON.parse(await readFile(file, 'utf8')).hash).toBe(loadDeclaredSchema(databaseSchemaFile).hash);
  });

  it('checks a changed file in full: an invalid one fails with its position and is not cached', async () => {
    const own = path.join(dir, 'database.yaml');
    const text = await readFile(databaseSchemaFile, 'utf8');
    await writeFile(own, text);
    const valid = loadDeclaredSchema(own, { cacheDir });
    await writeFile(own, text.replace('primaryKey: true', 'primaryKey: maybe'));
    expect(() => loadDeclaredSchema(own, { cacheDir })).toThrow(/database\.yaml is invalid/);
    try {
      loadDeclaredSchema(own, { cacheDir });
    } catch (error) {
      expect(((error as { details?: string[] }).details ?? []).join('\n')).toMatch(
        /database\.yaml:\d+:\d+: /,
      );
    }
    // Only the valid text's entry is there.
    expect(await entries()).toHaveLength(1);
    await writeFile(own, text);
    expect(loadDeclaredSchema(own, { cacheDir })).toEqual(valid);
  });
});
