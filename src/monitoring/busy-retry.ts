import { BUSY_RETRY_DELAYS_MS, isBusy } from '../actions/busy.js';

/**
 * Another writer (an `rmm apply`, a runner) may hold the database's write lock past a connection's
 * 5 s busy timeout. A monitoring write then waits a pause and tries again, a bounded number of times
 * (the runners' schedule, actions/busy.ts), and reports that it could not write instead of throwing:
 * the service keeps what it holds for the next cycle and never crashes on a lock.
 */

export interface RetryOptions {
  /** Pauses between tries; its length bounds the tries (one more than pauses). */
  delays?: readonly number[];
  /** Waits `ms` (the service: a timer; tests: a step of their own, never a sleep). */
  pause: (ms: number) => Promise<void>;
}

export type Retried<T> =
  | { written: true; value: T; busyTries: number }
  | { written: false; busyTries: number };

export async function retryWhileBusy<T>(write: () => T, options: RetryOptions): Promise<Retried<T>> {
  const delays = options.delays ?? BUSY_RETRY_DELAYS_MS;
  let busyTries = 0;
  for (let attempt = 0; attempt <= delays.length; attempt++) {
    try {
      return { written: true, value: write(), busyTries };
    } catch (error) {
      if (!isBusy(error)) throw error;
      busyTries++;
      const delay = delays[attempt];
      if (delay !== undefined) await options.pause(delay);
    }
  }
  return { written: false, busyTries };
}
