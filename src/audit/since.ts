import { parseAt, sqliteTime } from '../actions/schedule.js';
import { RmmError } from '../errors.js';

/**
 * `rmm audit --since`: a duration back from `now` (30m, 12h, 7d, 2w), a date (its midnight), or a
 * time as `--at` takes it (ISO 8601). Returned in SQLite's UTC form, to compare with AuditLog.Timestamp. `now` is an input,
 * so tests need no clock.
 */
const DURATION = /^(\d{1,6})\s*(s|m|h|d|w)$/i;
const SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;

export function parseSince(text: string, now: Date): string {
  return sqliteTime(parseSinceDate(text, now));
}

/** The same moment as a Date (rmm metrics compares it with epoch-ms samples). */
export function parseSinceDate(text: string, now: Date): Date {
  const match = DURATION.exec(text.trim());
  if (match) {
    const unit = (match[2] as string).toLowerCase() as keyof typeof SECONDS;
    return new Date(now.getTime() - Number(match[1]) * SECONDS[unit] * 1000);
  }
  if (/^\d/.test(text.trim()) && /^\d+(\.\d+)?\s*[a-z]*$/i.test(text.trim()))
    throw new RmmError('usage', `--since ${JSON.stringify(text)}: not a duration`, {
      details: ['give a whole number and a unit: 30s, 15m, 12h, 7d, 2w; or a time: 2026-11-27T03:00:00Z'],
    });
  // A bare date is its midnight, in local time as a time without an offset is.
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? `${text.trim()}T00:00` : text;
  return parseAt(date, '--since').date;
}
