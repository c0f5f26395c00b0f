import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RmmError } from '../errors.js';

/**
 * The console's plan key: 32 random bytes in the data directory (mode 0600), made by the first
 * `rmm plan --out`. Saved plans carry an HMAC under it, so a plan file changed after it was saved
 * (an edited CI artifact) is refused by `rmm apply FILE`. Whoever can read the data directory can
 * sign plans; that is the same person who can write the database (docs/apply-sets.md).
 */
export const PLAN_KEY_FILE = 'plan.key';

/** The key, if this console has one. */
export function readPlanKey(dataDir: string): Buffer | undefined {
  try {
    const key = readFileSync(path.join(dataDir, PLAN_KEY_FILE));
    return key.length >= 32 ? key : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RmmError(
      'data-dir',
      `cannot read the plan key ${path.join(dataDir, PLAN_KEY_FILE)}: ${(error as Error).message}`,
    );
  }
}

/** The key, made now if there is none (exclusively: two plans saved at once agree on one key). */
export function planKeyForSaving(dataDir: string): Buffer {
  const existing = readPlanKey(dataDir);
  if (existing) return existing;
  const file = path.join(dataDir, PLAN_KEY_FILE);
  try {
    writeFileSync(file, randomBytes(32), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST')
      throw new RmmError(
        'data-dir',
        `cannot save a plan: the plan key ${file} cannot be created (${code ?? (error as Error).message})`,
        {
          details: [
            'saving a plan needs write access to the data directory once; plan without --out to only review it',
          ],
        },
      );
  }
  return readPlanKey(dataDir) as Buffer;
}
