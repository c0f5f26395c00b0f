import type { ExecPayload } from '../actions/jobs.js';
import { sqliteTime } from '../actions/schedule.js';
import type { ActionStore } from '../actions/store.js';
import type { DeviceRecord } from '../actions/targets.js';
import { collectorPayload } from '../inventory/collectors.js';
import type { Db } from '../state/connection.js';
import { type PolicySchedule, scheduleRunKey } from './schedules.js';

/**
 * The schedules' runs, kept in ScheduleRuns: when each schedule was last queued. A run is queued as
 * `rmm exec --at` queues: Actions rows of the queue's (no owner), due at the run's time, which the
 * queue step then runs like any due action. The rows and the run's time are written in one
 * transaction, so a service killed in between either queued the run and knows it, or did neither.
 */

/** Limits of a scheduled action, as rmm exec's and rmm inventory collect's defaults. */
export const SCHEDULED_EXEC_LIMITS = { timeoutMs: 300_000, connectTimeoutMs: 15_000 } as const;
export const SCHEDULED_INVENTORY_LIMITS = { timeoutMs: 60_000, connectTimeoutMs: 15_000 } as const;

export interface QueuedRun {
  schedule: PolicySchedule;
  /** The devices it was queued on: Actions rows, one each. */
  devices: string[];
}

export function scheduleRuns(db: Db, store: ActionStore) {
  const last = db.prepare('SELECT PolicyId, ScheduleKey, LastRunAt FROM ScheduleRuns');
  const record = db.prepare(
    `INSERT INTO ScheduleRuns (PolicyId, ScheduleKey, LastRunAt) VALUES (?, ?, ?)
     ON CONFLICT (PolicyId, ScheduleKey) DO UPDATE SET LastRunAt = excluded.LastRunAt`,
  );
  const forget = db.prepare('DELETE FROM ScheduleRuns WHERE PolicyId = ? AND ScheduleKey = ?');

  return {
    /** When each schedule last ran, by scheduleRunKey. */
    lastRuns(): Map<string, number> {
      const rows = last.all() as Array<{ PolicyId: string; ScheduleKey: string; LastRunAt: number }>;
      return new Map(
        rows.map((r) => [scheduleRunKey({ policy: r.PolicyId, key: r.ScheduleKey }), r.LastRunAt]),
      );
    },

    /**
     * Queues one run of each schedule on its devices and records it at `now`, all in one
     * transaction. A schedule whose policy reaches no device is recorded as run, with no rows.
     */
    async queue(
      runs: ReadonlyArray<{ schedule: PolicySchedule; devices: readonly DeviceRecord[] }>,
      now: number,
    ) {
      // Payloads first: an inventory collector's text is read from disk, which a transaction must not wait on.
      const prepared = await Promise.all(
        runs.map(async ({ schedule, devices }) => ({
          schedule,
          groups: await payloadGroups(schedule, devices),
          devices: devices.map((d) => d.name),
        })),
      );
      const due = sqliteTime(new Date(now));
      return db
        .transaction((): QueuedRun[] =>
          prepared.map(({ schedule, groups, devices }) => {
            for (const { payload, names } of groups)
              store.create(schedule.action, names, payload, {
                priority: schedule.priority,
                scheduledAt: due,
              });
            record.run(schedule.policy, schedule.key, now);
            return { schedule, devices };
          }),
        )
        .immediate();
    },

    /** Drops the runs of schedules that no longer exist (by scheduleRunKey), so a schedule added back starts afresh. */
    forgetAllBut(kept: ReadonlySet<string>): number {
      let removed = 0;
      for (const row of last.all() as Array<{ PolicyId: string; ScheduleKey: string }>) {
        if (kept.has(scheduleRunKey({ policy: row.PolicyId, key: row.ScheduleKey }))) continue;
        removed += forget.run(row.PolicyId, row.ScheduleKey).changes;
      }
      return removed;
    },
  };
}

export type ScheduleRuns = ReturnType<typeof scheduleRuns>;

/** One Payload per collector text (inventory) or one for all (exec), with its devices. */
async function payloadGroups(
  schedule: PolicySchedule,
  devices: readonly DeviceRecord[],
): Promise<Array<{ payload: ExecPayload & { schedule: string }; names: string[] }>> {
  const origin = `policy ${schedule.policy}: ${schedule.key}`;
  if (schedule.action === 'exec') {
    if (devices.length === 0) return [];
    const payload = { command: schedule.command ?? '', ...SCHEDULED_EXEC_LIMITS, schedule: origin };
    return [{ payload, names: devices.map((d) => d.name) }];
  }
  const byCommand = new Map<string, { payload: ExecPayload & { schedule: string }; names: string[] }>();
  for (const device of devices) {
    const payload = await collectorPayload(device, SCHEDULED_INVENTORY_LIMITS);
    const entry = byCommand.get(payload.command) ?? { payload: { ...payload, schedule: origin }, names: [] };
    entry.names.push(device.name);
    byCommand.set(payload.command, entry);
  }
  return [...byCommand.values()];
}
