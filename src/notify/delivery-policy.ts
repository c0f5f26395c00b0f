import type { SendResult } from './content.js';
import type { AttemptRecord } from './outbox-store.js';

/**
 * What to do after an attempt (pure): delivered, refused for good, or tried again after an
 * exponential backoff with full jitter (AWS's "full jitter": a uniform wait up to the capped
 * exponential, so a burst of failures does not come back as one burst), until the maximum age.
 */
export interface DeliveryPolicy {
  /** The first retry waits up to this; each further one doubles it. */
  baseMs: number;
  /** No wait is longer than this. */
  capMs: number;
  /** A notification still undelivered this long after it was owed is Expired. */
  maxAgeMs: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  baseMs: 5_000,
  capMs: 10 * 60_000,
  maxAgeMs: 24 * 3_600_000,
};

/** The wait before retry number `attempt` (1 after the first failure); `random` in [0, 1). */
export function backoffMs(attempt: number, random: number, policy: DeliveryPolicy): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random * ceiling);
}

/** The row's next state after an attempt that made it `attempts` attempts in all. */
export function afterAttempt(
  result: SendResult,
  row: { attempts: number; createdAt: number },
  now: number,
  random: number,
  policy: DeliveryPolicy,
): AttemptRecord {
  if (result.outcome === 'delivered') return { status: 'Delivered', answer: result.answer };
  if (result.outcome === 'rejected') return { status: 'Failed', answer: result.answer };
  const nextAttemptAt = now + backoffMs(row.attempts, random, policy);
  if (nextAttemptAt - row.createdAt > policy.maxAgeMs)
    return {
      status: 'Expired',
      answer: `${result.answer} (undelivered after ${row.attempts} attempts; past the maximum age)`,
    };
  return { status: 'Pending', answer: result.answer, nextAttemptAt };
}
