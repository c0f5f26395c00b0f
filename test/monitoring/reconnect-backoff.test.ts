import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, retryDelayMs } from '../../src/monitoring/reconnect-backoff.js';

describe('retryDelayMs', () => {
  const policy = { firstMs: 1000, maxMs: 8000 };
  it.each([
    { failures: 1, random: 0, expected: 500 },
    { failures: 1, random: 0.999, expected: 1000 },
    { failures: 2, random: 0, expected: 1000 },
    { failures: 3, random: 0.5, expected: 3000 },
    { failures: 4, random: 0, expected: 4000 },
    // Capped: the base stops at maxMs.
    { failures: 5, random: 0, expected: 4000 },
    { failures: 1_000_000, random: 0.999, expected: 7996 },
    // Out-of-range inputs are held to their range.
    { failures: 0, random: -1, expected: 500 },
    { failures: 1, random: 2, expected: 1000 },
  ])('after $failures failures with draw $random: $expected ms', ({ failures, random, expected }) => {
    expect(retryDelayMs(failures, random, policy)).toBe(expected);
  });

  it('retries a device that failed once within the next one-minute cycle, and one failing for long at most every 5 minutes', () => {
    expect(retryDelayMs(1, 0.999, DEFAULT_BACKOFF)).toBeLessThan(10_000);
    expect(retryDelayMs(50, 0.999, DEFAULT_BACKOFF)).toBeLessThanOrEqual(300_000);
    expect(retryDelayMs(50, 0, DEFAULT_BACKOFF)).toBe(150_000);
  });
});
