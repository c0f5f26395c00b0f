import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installed package's root (holds schemas/ and policies/), found from this file's location. */
export const packageRoot: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'schemas'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('rmm: cannot find the package root (schemas/ is missing from the installation)');
})();

export const schemasDir = path.join(packageRoot, 'schemas');
export const databaseSchemaFile = path.join(schemasDir, 'database.yaml');

/**
 * The runtime home: --data-dir, else RMM_DATA_DIR, else ./data. It holds devices.db (cold tier),
 * cache/ (warm tier) and archive/ (archive tier).
 */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(flag ?? env.RMM_DATA_DIR ?? 'data');
}

export function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'devices.db');
}
