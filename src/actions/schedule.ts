import { RmmError } from '../errors.js';

/**
 * `rmm exec --at TIME`: an ISO 8601 date-time, stored in Actions.ScheduledAt as UTC in SQLite's own
 * CURRENT_TIMESTAMP form ('YYYY-MM-DD HH:MM:SS'), so the queue compares it with the database's clock.
 *
 *   2026-11-27T03:00:00Z   2026-11-27T04:00+01:00   2026-11-27 03:00 (no offset: this machine's time)
 *
 * Parsed by hand: Date.parse would turn 2026-02-30 into March 2nd without a word.
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** `flag` names the option in messages (rmm audit --since reads times the same way). */
export function parseAt(text: string, flag = '--at'): { utc: string; date: Date } {
  const refuse = (why: string) =>
    new RmmError('usage', `${flag} ${JSON.stringify(text)}: ${why}`, {
      details: [
        'give an ISO 8601 date-time: 2026-11-27T03:00:00Z, 2026-11-27T04:00+01:00, or local 2026-11-27 03:00',
      ],
    });
  const match = ISO.exec(text.trim());
  if (!match) throw refuse('not an ISO 8601 date-time');
  const [, y = '', mo = '', d = '', h = '', mi = '', s = '0', fraction = '', zone] = match;
  const [year, month, day, hour, minute, second] = [
    Number(y),
    Number(mo),
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
  ];
  const ms = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  if (month < 1 || month > 12) throw refuse(`there is no month ${month}`);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) throw refuse(`${y}-${mo} has no day ${day}`);
  if (hour > 23 || minute > 59 || second > 59) throw refuse('the time of day is out of range');
  let date: Date;
  if (zone === undefined) {
    date = new Date(year, month - 1, day, hour, minute, second, ms);
  } else {
    let offsetMinutes = 0;
    if (zone.toUpperCase() !== 'Z') {
      const digits = zone.slice(1).replace(':', '');
      const [oh, om] = [Number(digits.slice(0, 2)), Number(digits.slice(2))];
      if (oh > 23 || om > 59) throw refuse(`the offset ${zone} is out of range`);
      offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
    }
    date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000);
  }
  return { utc: sqliteTime(date), date };
}

/** 'YYYY-MM-DD HH:MM:SS' in UTC, as SQLite's CURRENT_TIMESTAMP writes it (seconds truncated). */
export function sqliteTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}
