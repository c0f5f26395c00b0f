import { type RetryOptions, retryWhileBusy } from './busy-retry.js';
import type { MetricStore, RefusedSample } from './metric-store.js';
import type { Sample } from './samples.js';

/**
 * Writes a cycle's samples batch by batch beside other writers, each batch waiting out a held lock
 * (busy-retry.ts). What is still unwritten after the last try is handed back, never dropped and never
 * thrown: the caller keeps it for the next cycle or counts it lost.
 */

export interface WriteOutcome {
  written: number;
  refused: RefusedSample[];
  /** Samples left unwritten because the lock was held through every try; empty otherwise. */
  unwritten: Sample[];
  /** How many times a batch found the database locked. */
  busyTries: number;
}

export async function writeSamples(
  store: MetricStore,
  samples: readonly Sample[],
  options: RetryOptions,
): Promise<WriteOutcome> {
  const outcome: WriteOutcome = { written: 0, refused: [], unwritten: [], busyTries: 0 };
  for (let start = 0; start < samples.length; start += store.batchSize) {
    const batch = samples.slice(start, start + store.batchSize);
    const result = await retryWhileBusy(() => store.insertBatch(batch), options);
    outcome.busyTries += result.busyTries;
    if (!result.written) {
      outcome.unwritten.push(...samples.slice(start));
      return outcome;
    }
    outcome.written += result.value.written;
    outcome.refused.push(...result.value.refused);
  }
  return outcome;
}
