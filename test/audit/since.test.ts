import { describe, expect, it } from 'vitest';
import { parseSince } from '../../src/audit/since.js';

describe('parseSince (rmm audit --since)', () => {
  const now = new Date('2026-11-27T12:00:00Z');

  it.each([
    ['30s', '2026-11-27 11:59:30'],
    ['15m', '2026-11-27 11:45:00'],
    ['12h', '2026-11-27 00:00:00'],
    ['7d', '2026-11-20 12:00:00'],
    ['2W', '2026-11-13 12:00:00'],
    ['0h', '2026-11-27 12:00:00'],
    ['2026-11-01T00:00:00Z', '2026-11-01 00:00:00'],
    ['2026-11-01T01:00+01:00', '2026-11-01 00:00:00'],
  ])('%s is %s UTC', (text, utc) => {
    expect(parseSince(text, now)).toBe(utc);
  });

  it('a bare date is its local midnight', () => {
    expect(parseSince('2026-11-01', now)).toBe(parseSince('2026-11-01T00:00', now));
  });

  it.each([
    ['10x', 'not a duration'],
    ['1.5h', 'not a duration'],
    ['-3d', 'not an ISO 8601 date-time'],
    ['yesterday', 'not an ISO 8601 date-time'],
    ['2026-13-01T00:00Z', 'there is no month 13'],
  ])('%s is refused: %s', (text, why) => {
    expect(() => parseSince(text, now)).toThrow(why);
  });
});
