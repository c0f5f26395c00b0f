import type { Cron } from 'croner';
import { durationSeconds } from '../duration.js';
import type { MaintenanceWindow } from '../resources/kinds.js';
import { compileCron, instantOf, readWindowTime } from './window-time.js';

/** One occurrence of a window: from start (inclusive) to end (exclusive), epoch ms. */
export interface Occurrence {
  start: number;
  end: number;
}

/**
 * Occurrences of a recurring window that follow each other without a gap are one stretch of
 * maintenance; rmm follows at most this many of them (a rule that never leaves a gap reads as a
 * window ending that many occurrences later, and again after that).
 */
export const MAX_CHAINED = 1500;

/** A window's occurrences in one time zone: pure functions of time, over a small cache. */
export interface WindowTimeline {
  /** The occurrence under way at `at`, or null. */
  at(at: number): Occurrence | null;
  /** The occurrences that start or end within [from, to], in time order. */
  within(from: number, to: number): Occurrence[];
}

/**
 * The timeline of a window in `timezone` (an IANA name the caller checked), or undefined when the
 * window cannot be read (a row edited by hand past validation).
 */
export function windowTimeline(window: MaintenanceWindow, timezone: string): WindowTimeline | undefined {
  const seconds = window.duration === undefined ? undefined : durationSeconds(window.duration);
  if (window.cron !== undefined && seconds !== undefined && seconds > 0) {
    const cron = compileCron(window.cron, timezone);
    return 'problem' in cron ? undefined : cached(recurring(cron, seconds * 1000));
  }
  if (window.start !== undefined && window.end !== undefined) {
    const start = readWindowTime(window.start);
    const end = readWindowTime(window.end);
    if ('problem' in start || 'problem' in end) return undefined;
    return oneOff({ start: instantOf(start, timezone), end: instantOf(end, timezone) });
  }
  return undefined;
}

interface Source {
  /** The occurrence under way at `at`, or null. */
  at(at: number): Occurrence | null;
  /** The first occurrence starting after `after`, or null. */
  next(after: number): Occurrence | null;
}

function recurring(cron: Cron, durationMs: number): Source {
  // Starting from `start`, take in the occurrences that begin before the stretch ends.
  const stretch = (start: number): Occurrence => {
    let end = start + durationMs;
    let last = start;
    for (let i = 0; i < MAX_CHAINED; i++) {
      const following = cron.nextRun(new Date(last))?.getTime();
      if (following === undefined || following > end) break;
      last = following;
      end = following + durationMs;
    }
    return { start, end };
  };
  return {
    at(at) {
      // croner's previousRuns is strictly before its reference: +1 ms takes in a start at `at`.
      const latest = cron.previousRuns(1, new Date(at + 1))[0]?.getTime();
      if (latest === undefined || latest + durationMs <= at) return null;
      // An earlier occurrence may have begun the stretch; the start shown is the latest one's.
      return stretch(latest);
    },
    next(after) {
      const start = cron.nextRun(new Date(after))?.getTime();
      return start === undefined ? null : stretch(start);
    },
  };
}

function oneOff(occurrence: Occurrence): WindowTimeline {
  // An end at or before its start (a local time moved by a spring-forward) is a window that never opens.
  const { start, end } = occurrence;
  const open = end > start;
  return {
    at: (at) => (open && start <= at && at < end ? occurrence : null),
    within: (from, to) =>
      open && ((start >= from && start <= to) || (end >= from && end <= to)) ? [occurrence] : [],
  };
}

/**
 * The answer to at() holds until the occurrence ends, or until the next one starts: the service
 * asks for every alert and every due schedule, with a clock that moves forward.
 */
function cached(source: Source): WindowTimeline {
  let memo: { from: number; until: number; occurrence: Occurrence | null } | undefined;
  return {
    at(at) {
      if (memo && memo.from <= at && at < memo.until) return memo.occurrence;
      const occurrence = source.at(at);
      const until = occurrence ? occurrence.end : (source.next(at)?.start ?? Number.POSITIVE_INFINITY);
      memo = { from: at, until, occurrence };
      return occurrence;
    },
    within(from, to) {
      const found: Occurrence[] = [];
      let current = source.at(from) ?? source.next(from);
      // Each step starts after the previous stretch ended, so the loop moves forward; bounded anyway.
      for (let i = 0; current && current.start <= to && i < MAX_CHAINED; i++) {
        if ((current.start >= from && current.start <= to) || (current.end >= from && current.end <= to))
          found.push(current);
        current = source.next(current.end);
      }
      return found;
    },
  };
}
