import { type MetricStore, type RetentionResult, retentionCutoff } from '../monitoring/metric-store.js';

/**
 * The cold tier keeps samples for `days` (the seed's 90): rmm serve deletes older ones at most once
 * an hour, in the store's short chunks, so an apply beside it waits little. A pass that hit its chunk
 * bound is not done, and the next tick goes on rather than waiting the hour. Time is an input.
 */
export const DEFAULT_RETENTION_DAYS = 90;
export const RETENTION_EVERY_MS = 60 * 60_000;

export interface MetricRetention {
  /** Deletes what is past retention when a pass is due; undefined when none was. */
  run(now: number): RetentionResult | undefined;
}

export function metricRetention(
  store: Pick<MetricStore, 'deleteOlderThan'>,
  options: { days: number; everyMs?: number; maxChunks?: number },
): MetricRetention {
  const every = options.everyMs ?? RETENTION_EVERY_MS;
  let nextAt = Number.NEGATIVE_INFINITY;
  return {
    run(now) {
      if (now < nextAt) return undefined;
      const result = store.deleteOlderThan(retentionCutoff(now, options.days), {
        ...(options.maxChunks === undefined ? {} : { maxChunks: options.maxChunks }),
      });
      // Set after the pass: one the lock refused (it throws) is tried again at the next tick.
      nextAt = result.done ? now + every : now;
      return result;
    },
  };
}
