import { RmmError } from '../errors.js';

/**
 * Another writer (an apply, another runner, a backup) can hold the database's write lock longer than
 * a connection's 5 s busy timeout. A runner's results are the output of commands that already ran:
 * they are kept and written again after a pause, a bounded number of times, never dropped with a
 * stack trace. Lock waits before anything ran are a plain `locked` error instead.
 */

/** Pauses between tries to write what a runner holds (each try itself waits up to the busy timeout). */
export const BUSY_RETRY_DELAYS_MS: readonly number[] = Array.from({ length: 24 }, () => 1000);

/** SQLITE_BUSY and its extended codes (SQLITE_BUSY_SNAPSHOT, ...): another connection holds the lock. */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** The `locked` error for a write refused before anything ran: `what` the runner was doing. */
export function lockedBeforeRun(what: string, cause: unknown): RmmError {
  return new RmmError(
    'locked',
    `another writer holds the write lock on the database (waited 5 s) ${what}; nothing was queued or run`,
    {
      details: ['an rmm apply, db apply or another runner is probably writing; try again when it ends'],
      cause,
    },
  );
}
