import type { UpcomingWindow } from '../maintenance/upcoming.js';
import { printable } from '../printable.js';

/**
 * The plan's maintenance section: the windows that start or end within the next 24 hours of the
 * state the plan leads to, each in its zone's local time with how far away it is.
 */
export function* maintenanceLines(upcoming: readonly UpcomingWindow[], now: number): Generator<string> {
  if (upcoming.length === 0) return;
  yield '';
  yield `Maintenance windows starting or ending within 24h (${upcoming.length}):`;
  for (const w of upcoming) {
    const what = [`${w.level} ${w.holder}`, `${w.devices} device${w.devices === 1 ? '' : 's'}`];
    if (w.pauseSchedules) what.push('holds schedules');
    const start = localTime(w.start, w.timezone);
    const end = localTime(w.end, w.timezone);
    const endShown = end.slice(0, 10) === start.slice(0, 10) ? end.slice(11) : end;
    const when = [
      w.starts ? `starts ${relative(w.start - now)}` : 'under way',
      w.ends ? `ends ${relative(w.end - now)}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    yield printable(`  ${w.name} (${what.join(', ')}): ${start} to ${endShown} ${w.timezone}; ${when}`);
  }
}

/** The plan's JSON form of a window: times as ISO 8601 UTC. */
export function maintenanceJson(upcoming: readonly UpcomingWindow[]) {
  return upcoming.map((w) => ({
    ...w,
    start: new Date(w.start).toISOString(),
    end: new Date(w.end).toISOString(),
  }));
}

/** YYYY-MM-DD HH:MM in a time zone. */
function localTime(ms: number, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** "in 2h 30m", "in 5m", or "now". */
function relative(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes <= 0) return 'now';
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `in ${[h > 0 ? `${h}h` : '', m > 0 || h === 0 ? `${m}m` : ''].filter(Boolean).join(' ')}`;
}
