import { describe, expect, it } from 'vitest';
import { windowTimeline } from '../../src/maintenance/occurrences.js';
import { compileCron, instantOf, readWindowTime } from '../../src/maintenance/window-time.js';
import type { MaintenanceWindow } from '../../src/resources/kinds.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function timeline(window: Omit<MaintenanceWindow, 'name'>, timezone: string) {
  const t = windowTimeline({ name: 'w', ...window }, timezone);
  if (!t) throw new Error('unreadable window');
  return t;
}

/** The occurrence under way at `when`, as ISO strings (the clock is the argument: nothing waits). */
function occurrenceAt(window: Omit<MaintenanceWindow, 'name'>, timezone: string, when: string) {
  const o = timeline(window, timezone).at(at(when));
  return o && { start: iso(o.start), end: iso(o.end) };
}

describe('recurring windows', () => {
  const patchNight = { cron: '0 2 * * 6', duration: '3h' };

  it('are under way from each start for their duration, in UTC when the zone is UTC', () => {
    // 2026-12-05 is a Saturday.
    expect(occurrenceAt(patchNight, 'UTC', '2026-12-05T02:30:00Z')).toEqual({
      start: '2026-12-05T02:00:00.000Z',
      end: '2026-12-05T05:00:00.000Z',
    });
    expect(occurrenceAt(patchNight, 'UTC', '2026-12-05T02:00:00Z')?.start).toBe('2026-12-05T02:00:00.000Z');
    expect(occurrenceAt(patchNight, 'UTC', '2026-12-05T05:00:00Z')).toBeNull();
    expect(occurrenceAt(patchNight, 'UTC', '2026-12-05T01:59:59Z')).toBeNull();
    expect(occurrenceAt(patchNight, 'UTC', '2026-12-04T02:30:00Z')).toBeNull();
  });

  it("follow the site's time zone", () => {
    // 02:00 in Chicago (UTC-6 in December) is 08:00 UTC.
    expect(occurrenceAt(patchNight, 'America/Chicago', '2026-12-05T02:30:00Z')).toBeNull();
    expect(occurrenceAt(patchNight, 'America/Chicago', '2026-12-05T08:30:00Z')).toEqual({
      start: '2026-12-05T08:00:00.000Z',
      end: '2026-12-05T11:00:00.000Z',
    });
  });

  it('cross midnight: a 22:00 window of 4h is under way at 01:00 the next day', () => {
    const nightly = { cron: '0 22 * * *', duration: '4h' };
    // New York is UTC-5 in December: 22:00 local is 03:00 UTC the next day.
    expect(occurrenceAt(nightly, 'America/New_York', '2026-12-06T06:00:00Z')).toEqual({
      start: '2026-12-06T03:00:00.000Z',
      end: '2026-12-06T07:00:00.000Z',
    });
    expect(occurrenceAt(nightly, 'America/New_York', '2026-12-06T07:00:00Z')).toBeNull();
  });

  it('on a spring-forward day, a 02:30 rule starts at 03:00, when the skipped hour ends, and lasts its duration', () => {
    // Paris skips 02:00-03:00 on 2026-03-29: 03:00 CEST is 01:00 UTC.
    const daily = { cron: '30 2 * * *', duration: '1h' };
    expect(occurrenceAt(daily, 'Europe/Paris', '2026-03-29T01:30:00Z')).toEqual({
      start: '2026-03-29T01:00:00.000Z',
      end: '2026-03-29T02:00:00.000Z',
    });
    expect(occurrenceAt(daily, 'Europe/Paris', '2026-03-29T02:00:00Z')).toBeNull();
    // The day before and after: 02:30 local as usual (CET then CEST).
    expect(occurrenceAt(daily, 'Europe/Paris', '2026-03-28T01:45:00Z')?.start).toBe(
      '2026-03-28T01:30:00.000Z',
    );
    expect(occurrenceAt(daily, 'Europe/Paris', '2026-03-30T00:45:00Z')?.start).toBe(
      '2026-03-30T00:30:00.000Z',
    );
  });

  it('on a fall-back day, a 02:30 rule starts once, at the first 02:30, and lasts its duration in real time', () => {
    // Paris goes through 02:00-03:00 twice on 2026-10-25: first at CEST (00:00-01:00 UTC), then CET.
    const daily = { cron: '30 2 * * *', duration: '1h' };
    expect(occurrenceAt(daily, 'Europe/Paris', '2026-10-25T00:45:00Z')).toEqual({
      start: '2026-10-25T00:30:00.000Z',
      end: '2026-10-25T01:30:00.000Z',
    });
    // 02:45 the second time (01:45 UTC): the window does not open again.
    expect(occurrenceAt(daily, 'Europe/Paris', '2026-10-25T01:45:00Z')).toBeNull();
  });

  it('occurrences that meet or overlap are one stretch, ending with the last of them', () => {
    const meeting = { cron: '0 */2 * * *', duration: '2h' };
    const o = timeline(meeting, 'UTC').at(at('2026-12-05T03:00:00Z'));
    expect(o?.start).toBe(at('2026-12-05T02:00:00Z'));
    expect(o && o.end - o.start).toBeGreaterThan(7 * 86_400_000);
    const apart = timeline({ cron: '0 */2 * * *', duration: '90m' }, 'UTC').at(at('2026-12-05T03:00:00Z'));
    expect(iso(apart?.end)).toBe('2026-12-05T03:30:00.000Z');
  });

  it('answer again from their cache as the clock moves, and the same as a fresh timeline', () => {
    const t = timeline(patchNight, 'Europe/Paris');
    const start = at('2026-12-04T00:00:00Z');
    for (let m = 0; m < 3 * 24 * 60; m += 7) {
      const fresh = timeline(patchNight, 'Europe/Paris').at(start + m * 60_000);
      expect(t.at(start + m * 60_000)).toEqual(fresh);
    }
  });

  it('list the starts and ends within a range', () => {
    const found = timeline(patchNight, 'UTC').within(at('2026-12-05T00:00:00Z'), at('2026-12-12T03:00:00Z'));
    expect(found.map((o) => [iso(o.start), iso(o.end)])).toEqual([
      ['2026-12-05T02:00:00.000Z', '2026-12-05T05:00:00.000Z'],
      ['2026-12-12T02:00:00.000Z', '2026-12-12T05:00:00.000Z'],
    ]);
    // Under way at the range's start: listed for its end.
    expect(
      timeline(patchNight, 'UTC').within(at('2026-12-05T04:00:00Z'), at('2026-12-05T06:00:00Z')),
    ).toHaveLength(1);
    expect(
      timeline(patchNight, 'UTC').within(at('2026-12-05T06:00:00Z'), at('2026-12-06T06:00:00Z')),
    ).toEqual([]);
  });
});

describe('one-off windows', () => {
  const move = { start: '2026-12-05T22:00', end: '2026-12-06T04:00' };

  it("are local to the site's zone unless they give an offset", () => {
    expect(occurrenceAt(move, 'Europe/Paris', '2026-12-05T21:30:00Z')).toEqual({
      start: '2026-12-05T21:00:00.000Z',
      end: '2026-12-06T03:00:00.000Z',
    });
    expect(occurrenceAt(move, 'UTC', '2026-12-05T21:30:00Z')).toBeNull();
    const offset = { start: '2026-12-05T22:00+05:30', end: '2026-12-06T04:00+05:30' };
    expect(occurrenceAt(offset, 'America/Chicago', '2026-12-05T16:30:00Z')?.start).toBe(
      '2026-12-05T16:30:00.000Z',
    );
  });

  it('a local time skipped by a spring-forward moves forward by the gap; a repeated one is its first occurrence', () => {
    const time = (text: string) => {
      const t = readWindowTime(text);
      if ('problem' in t) throw new Error(t.problem);
      return iso(instantOf(t, 'Europe/Paris'));
    };
    expect(time('2026-03-29T02:30')).toBe('2026-03-29T01:30:00.000Z'); // 03:30 CEST
    expect(time('2026-10-25T02:30')).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST, the first one
  });
});

describe('window times and cron rules', () => {
  it('refuse dates and times that do not exist, and rules that are malformed or never match', () => {
    expect(readWindowTime('2026-02-30T10:00')).toEqual({ problem: '2026-02-30 is not a date' });
    expect(readWindowTime('2026-12-05T24:00')).toEqual({ problem: '24:00:00 is not a time of day' });
    expect(compileCron('61 2 * * *')).toEqual({ problem: 'Invalid value for minute: 61' });
    expect(compileCron('0 0 * * * *')).toEqual({
      problem: 'must have five fields (minute hour day-of-month month day-of-week), not 6',
    });
    expect(compileCron('0 0 30 2 *')).toEqual({ problem: 'never matches a date' });
    expect('problem' in compileCron('0 2 * * sat')).toBe(false);
  });
});
