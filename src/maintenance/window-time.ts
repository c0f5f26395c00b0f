import { Cron, CronDate } from 'croner';

/**
 * The time rules of a maintenance window, on croner (time zones through Intl, DST-correct; see
 * docs/maintenance.md#daylight-saving-time for what it does with a time that is skipped or repeated).
 */

/** A recurring window's duration: at least a minute, at most a week. */
export const MIN_DURATION_SECONDS = 60;
export const MAX_DURATION_SECONDS = 7 * 86_400;
/** A one-off window lasts at most 31 days (a move, a migration; not a way to silence a site for good). */
export const MAX_ONE_OFF_MS = 31 * 86_400_000;

const TIME =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?(Z|[+-][0-9]{2}:[0-9]{2})?$/;

/** A start or end as written: its wall-clock fields and its offset, if it gives one. */
export interface WindowTime {
  /** YYYY-MM-DDTHH:MM:SS, the fields as written. */
  local: string;
  /** Z or +HH:MM; absent: the site's local time. */
  offset?: string;
}

/** A start or end read, or the problem with it (a 30th of February, an hour 25). */
export function readWindowTime(text: string): WindowTime | { problem: string } {
  const m = TIME.exec(text);
  if (!m) return { problem: 'must be a date and time such as 2026-12-05T22:00' };
  const [, y, mo, d, h, mi, s = '00', offset] = m as unknown as string[];
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > days) return { problem: `${y}-${mo}-${d} is not a date` };
  if (hour > 23 || minute > 59 || second > 59) return { problem: `${h}:${mi}:${s} is not a time of day` };
  if (offset && offset !== 'Z') {
    const [oh, om] = offset.slice(1).split(':').map(Number) as [number, number];
    if (oh > 14 || om > 59) return { problem: `${offset} is not a UTC offset` };
  }
  return { local: `${y}-${mo}-${d}T${h}:${mi}:${s}`, ...(offset ? { offset } : {}) };
}

/**
 * The instant of a start or end: by its offset when it gives one, else in `timezone`. A local time
 * skipped by a spring-forward moves forward by the gap (02:30 becomes 03:30); one repeated by a
 * fall-back is its first occurrence (croner's CronDate, as JavaScript's Temporal does by default).
 */
export function instantOf(time: WindowTime, timezone: string): number {
  if (time.offset) return Date.parse(`${time.local}${time.offset}`);
  return new CronDate(time.local, timezone).getTime();
}

/** A cron rule compiled for a time zone, or the problem with the rule. */
export function compileCron(rule: string, timezone = 'UTC'): Cron | { problem: string } {
  const fields = rule.trim().split(/\s+/);
  if (fields.length !== 5)
    return {
      problem: `must have five fields (minute hour day-of-month month day-of-week), not ${fields.length}`,
    };
  let cron: Cron;
  try {
    cron = new Cron(rule, { paused: true, timezone });
  } catch (error) {
    return {
      problem: (error instanceof Error ? error.message : String(error)).replace(/^CronPattern: /, ''),
    };
  }
  // A rule such as "0 0 30 2 *" is well formed and never matches.
  if (cron.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) return { problem: 'never matches a date' };
  return cron;
}
