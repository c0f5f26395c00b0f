import { parseAt } from '../actions/schedule.js';
import { durationSeconds } from '../duration.js';
import { RmmError } from '../errors.js';

/**
 * `rmm alerts snooze --until`: a duration from now in rmm's YAML form (30m, 2h, 1h30m, 7d) or a time
 * as `--at` takes it (ISO 8601), which must be in the future. `now` is an input, so tests need no clock.
 */
export function parseUntil(text: string, now: number): number {
  const trimmed = text.trim();
  const seconds = durationSeconds(trimmed);
  if (seconds !== undefined) {
    if (seconds === 0) throw refuse(text, 'a snooze of no time is none');
    return now + seconds * 1000;
  }
  if (/^\d+(\.\d+)?\s*[a-z]*$/i.test(trimmed) && !/^\d{4}-/.test(trimmed))
    throw refuse(text, 'not a duration');
  const until = parseAt(trimmed, '--until').date.getTime();
  if (until <= now)
    throw refuse(text, `that is in the past (now is ${new Date(now).toISOString().slice(0, 19)}Z)`);
  return until;
}

function refuse(text: string, why: string): RmmError {
  return new RmmError('usage', `--until ${JSON.stringify(text)}: ${why}`, {
    details: ['give a duration (30m, 2h, 1h30m, 7d) or a time in the future, as --at takes it (ISO 8601)'],
  });
}
