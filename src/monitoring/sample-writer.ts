import { BUSY_RETRY_DELAYS_MS, isBusy } from '../actions/busy.js';
import type { MetricStore, RefusedSample } from './metric-store.js';
import type { Sample } from './samples.js';

/**
 * Writes a cycle's samples batch by batch beside other writers. An `rmm apply` may hold the write
 * lock past the connection's 5 s busy timeout: then the batch waits a pause and tries again, a
 * bounded number of times (the runners' schedule, actions/busy.ts), and what is still unwritten
 * after the last try is handed back, never dropped and never thrown: the caller keeps it for the
 * next cycle or counts it lost, and a collection never crashes on a lock.
 */

export interface WriteOutcome {
  written: number;
  refused: RefusedSample[];
  /** Samples left unwritten because the lock was held through every try; empty otherwise. */
  unwritten: Sample[];
  /** How many times a batch found the database locked. */
  busyTries: number;
}

export interface WriteOptions {
  /** Pauses between tries of one batch; its length bounds the tries. */
  delays?: readonly number[];
  /** Waits `ms` (the service: a timer; tests: a step of their own, never a sleep). */
  pause: (ms: number) => Promise<void>;
}

export async function writeSamples(
  store: MetricStore,
  samples: readonly Sample[],
  options: WriteOptions,
): Promise<WriteOutcome> {
  const delays = options.delays ?? BUSY_RETRY_DELAYS_MS;
  const outcome: WriteOutcome = { written: 0, refused: [], unwritten: [], busyTries: 0 };
  for (let start = 0; start < samples.length; start += store.batchSize) {
    const batch = samples.slice(start, start + store.batchSize);
    let done = false;
    for (let attempt = 0; !done && attempt <= delays.length; attempt++) {
      try {
        const result = store.insertBatch(batch);
        outcome.written += result.written;
        outcome.refused.push(...result.refused);
        done = true;
      } catch (error) {
        if (!isBusy(error)) throw error;
        outcome.busyTries++;
        const delay = delays[attempt];
        if (delay === undefined) break;
        await options.pause(delay);
      }
    }
    if (!done) {
      outcome.unwritten.push(...samples.slice(start));
      return outcome;
    }
  }
  return outcome;
}
