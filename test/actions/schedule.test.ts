import { describe, expect, it } from 'vitest';
import { parseAt, sqliteTime } from '../../src/actions/schedule.js';
import { isRmmError } from '../../src/errors.js';

describe('parseAt (rmm exec --at)', () => {
  it('turns ISO 8601 date-times into UTC as SQLite writes CURRENT_TIMESTAMP', () => {
    expect(parseAt('2026-11-27T03:00:00Z').utc).toBe('2026-11-27 03:00:00');
    expect(parseAt('2026-11-27t03:00z').utc).toBe('2026-11-27 03:00:00');
    expect(parseAt('2026-11-27T04:30+01:00').utc).toBe('2026-11-27 03:30:00');
    expect(parseAt('2026-11-27T00:15:09.999-0230').utc).toBe('2026-11-27 02:45:09');
    expect(parseAt('2026-01-01 00:00:00+05:00').utc).toBe('2025-12-31 19:00:00');
    expect(parseAt('2028-02-29T12:00Z').utc).toBe('2028-02-29 12:00:00');
  });

  it('reads a time without an offset as local time', () => {
    const local = new Date(2026, 10, 27, 3, 0, 0);
    expect(parseAt('2026-11-27T03:00').utc).toBe(sqliteTime(local));
  });

  it.each([
    ['tomorrow', 'not an ISO 8601 date-time'],
    ['now+10m', 'not an ISO 8601 date-time'],
    ['2026-11-27', 'not an ISO 8601 date-time'],
    ['1764212400', 'not an ISO 8601 date-time'],
    ['2026-02-30T00:00Z', '2026-02 has no day 30'],
    ['2026-02-29T00:00Z', '2026-02 has no day 29'],
    ['2026-13-01T00:00Z', 'there is no month 13'],
    ['2026-11-27T24:00Z', 'the time of day is out of range'],
    ['2026-11-27T03:60Z', 'the time of day is out of range'],
    ['2026-11-27T03:00+24:00', 'the offset +24:00 is out of range'],
  ])('refuses %s, saying why (usage error, exit 64)', (text, why) => {
    let error: unknown;
    try {
      parseAt(text);
    } catch (e) {
      error = e;
    }
    expect(isRmmError(error) && error.code).toBe('usage');
    expect((error as Error).message).toBe(`--at ${JSON.stringify(text)}: ${why}`);
  });
});
