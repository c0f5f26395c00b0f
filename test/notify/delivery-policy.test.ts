import { describe, expect, it } from 'vitest';
import { afterAttempt, backoffMs, type DeliveryPolicy } from '../../src/notify/delivery-policy.js';

const policy: DeliveryPolicy = { baseMs: 1_000, capMs: 60_000, maxAgeMs: 3_600_000 };
const T0 = Date.UTC(2026, 0, 1);

describe('backoffMs: exponential with full jitter', () => {
  it('is uniform up to base x 2^(attempt-1), capped', () => {
    const rows = [
      { attempt: 1, random: 0.999, expected: 999 },
      { attempt: 2, random: 0.5, expected: 1_000 },
      { attempt: 5, random: 0.5, expected: 8_000 },
      { attempt: 7, random: 0.999, expected: 59_940 },
      { attempt: 40, random: 0.5, expected: 30_000 },
      { attempt: 3, random: 0, expected: 0 },
    ];
    for (const row of rows)
      expect(backoffMs(row.attempt, row.random, policy), JSON.stringify(row)).toBe(row.expected);
  });
});

describe('afterAttempt: the row after an attempt', () => {
  const row = { attempts: 3, createdAt: T0 };
  it('delivered and rejected are final', () => {
    expect(afterAttempt({ outcome: 'delivered', answer: 'HTTP 200' }, row, T0 + 5, 0.5, policy)).toEqual({
      status: 'Delivered',
      answer: 'HTTP 200',
    });
    expect(afterAttempt({ outcome: 'rejected', answer: 'HTTP 404' }, row, T0 + 5, 0.5, policy)).toEqual({
      status: 'Failed',
      answer: 'HTTP 404',
    });
  });
  it('a retry waits its backoff from now', () => {
    expect(afterAttempt({ outcome: 'retry', answer: 'HTTP 503' }, row, T0 + 10_000, 0.25, policy)).toEqual({
      status: 'Pending',
      answer: 'HTTP 503',
      nextAttemptAt: T0 + 10_000 + 1_000,
    });
  });
  it('a retry that would come after the maximum age expires the row', () => {
    const late = afterAttempt(
      { outcome: 'retry', answer: 'HTTP 503' },
      row,
      T0 + 3_600_000 - 500,
      0.999,
      policy,
    );
    expect(late).toMatchObject({ status: 'Expired' });
    expect(late.answer).toBe('HTTP 503 (undelivered after 3 attempts; past the maximum age)');
  });
});
