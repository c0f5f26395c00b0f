import { durationSeconds } from '../duration.js';

/**
 * A policy's `schedules` (Policies.Schedules) as the service runs them, and which are due. Pure: the
 * service reads the rows and the last runs, this decides, the service queues.
 *
 * A schedule is named by what it does (its action and command), not by its place in the list, so
 * reordering a policy's schedules or changing `every` keeps its last run. A schedule never run is
 * due at once; after that it is due `every` after its last run. A schedule missed while the service
 * was down (or several intervals missed) is due once: the run is recorded at the time it was queued,
 * so the next one is `every` after that, never a burst of catch-up runs.
 */
export interface PolicySchedule {
  policy: string;
  /** `inventory`, or `exec` and its command; `#2`, `#3` for repeats of the same in one policy. */
  key: string;
  action: 'inventory' | 'exec';
  everyMs: number;
  command?: string;
  priority: number;
}

/** Actions.Priority of a schedule that names none: as rmm exec's default. */
export const DEFAULT_SCHEDULE_PRIORITY = 5;

/** The shortest `every` the service honours: a shorter one runs at this pace (validation does not stop it). */
export const MIN_SCHEDULE_EVERY_MS = 60_000;

/**
 * The schedules of one policy from its stored JSON. Apply wrote what validation accepted; a row
 * edited by hand may hold anything, so each entry that cannot run is left out with a problem.
 */
export function policySchedules(
  policy: string,
  stored: unknown,
): { schedules: PolicySchedule[]; problems: string[] } {
  const schedules: PolicySchedule[] = [];
  const problems: string[] = [];
  if (!Array.isArray(stored)) {
    if (stored !== null && stored !== undefined)
      problems.push(`policy ${policy}: schedules is not a list; none run`);
    return { schedules, problems };
  }
  const seen = new Map<string, number>();
  for (const [index, entry] of (stored as unknown[]).entries()) {
    const where = `policy ${policy}, schedule ${index + 1}`;
    const s = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const seconds = typeof s.every === 'string' ? durationSeconds(s.every) : undefined;
    const problem =
      s.action !== 'inventory' && s.action !== 'exec'
        ? 'action must be inventory or exec'
        : seconds === undefined || seconds <= 0
          ? 'every must be a duration such as 1h'
          : s.action === 'exec' && (typeof s.command !== 'string' || !s.command.trim())
            ? 'an exec schedule needs a command'
            : undefined;
    if (problem !== undefined || seconds === undefined || (s.action !== 'inventory' && s.action !== 'exec')) {
      problems.push(`${where}: ${problem}; not run`);
      continue;
    }
    const command = s.action === 'exec' ? (s.command as string) : undefined;
    const base = command === undefined ? 'inventory' : `exec ${command}`;
    const nth = (seen.get(base) ?? 0) + 1;
    seen.set(base, nth);
    const priority =
      typeof s.priority === 'number' && Number.isInteger(s.priority) && s.priority >= 1 && s.priority <= 10
        ? s.priority
        : DEFAULT_SCHEDULE_PRIORITY;
    schedules.push({
      policy,
      key: nth === 1 ? base : `${base} #${nth}`,
      action: s.action,
      everyMs: Math.max(seconds * 1000, MIN_SCHEDULE_EVERY_MS),
      ...(command === undefined ? {} : { command }),
      priority,
    });
  }
  return { schedules, problems };
}

/** The key of a schedule's last run: policy and schedule key. */
export function scheduleRunKey(schedule: Pick<PolicySchedule, 'policy' | 'key'>): string {
  return `${schedule.policy}\u0000${schedule.key}`;
}

/** The schedules due at `now`, given when each last ran (by scheduleRunKey). */
export function dueSchedules(
  schedules: readonly PolicySchedule[],
  lastRuns: ReadonlyMap<string, number>,
  now: number,
): PolicySchedule[] {
  return schedules.filter((schedule) => {
    const last = lastRuns.get(scheduleRunKey(schedule));
    // A last run in the future means the clock was set back: run now rather than wait that out.
    return last === undefined || last > now || now - last >= schedule.everyMs;
  });
}

/**
 * A due schedule's devices split by maintenance: those it runs on now, and those a window that pauses
 * schedules holds, with when that window ends (docs/maintenance.md#schedules).
 */
export function holdDuringMaintenance<D extends { name: string }>(
  devices: readonly D[],
  holding: (device: string) => { until: number; window: string } | null,
): { now: D[]; held: Array<{ device: D; until: number; window: string }> } {
  const now: D[] = [];
  const held: Array<{ device: D; until: number; window: string }> = [];
  for (const device of devices) {
    const hold = holding(device.name);
    if (hold === null) now.push(device);
    else held.push({ device, ...hold });
  }
  return { now, held };
}
