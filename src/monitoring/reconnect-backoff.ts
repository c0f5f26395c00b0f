/**
 * When a device that failed may be tried again: exponential backoff with jitter. Pure (the random
 * draw is passed in), so tests and the service agree on every delay. A device failing every cycle
 * is tried at most once per `maxMs` or so, not every cycle: 10,000 offline devices would otherwise
 * spend every cycle on connect timeouts; and devices that failed together (a site's link went down)
 * do not all come back in the same second.
 */
export interface BackoffPolicy {
  /** The pause after the first failure, before jitter. */
  firstMs: number;
  /** The pause never grows past this (before jitter). */
  maxMs: number;
}

/** 5 s after the first failure, doubling up to 5 minutes: the first retry falls in the next cycle. */
export const DEFAULT_BACKOFF: BackoffPolicy = { firstMs: 5_000, maxMs: 300_000 };

/**
 * The pause after `failures` consecutive failures (1 or more), in [base / 2, base) where base is
 * firstMs * 2^(failures - 1) capped at maxMs; `random` is in [0, 1).
 */
export function retryDelayMs(failures: number, random: number, policy: BackoffPolicy): number {
  // The exponent is capped so a device failing for weeks cannot overflow it.
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const base = Math.min(policy.maxMs, policy.firstMs * 2 ** exponent);
  return Math.round(base / 2 + (base / 2) * Math.min(Math.max(random, 0), 1));
}
