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
 *
 * Devices in a maintenance window that pauses schedules are held (docs/maintenance.md): their rows
 * are queued in the same transaction, due when the window ends, so the run they missed happens once
 * after it (however many times the schedule came due meanwhile: a held row already waiting for that
 * end is not queued again).
 */

/** Limits of a scheduled action, as rmm exec's and rmm inventory collect's defaults. */
export const SCHEDULED_EXEC_LIMITS = { timeoutMs: 300_000, connectTimeoutMs: 15_000 } as const;
export const SCHEDULED_INVENTORY_LIMITS = { timeoutMs: 60_000, connectTimeoutMs: 15_000 } as const;

export interface QueuedRun {
  schedule: PolicySchedule;
  /** The devices it was queued on: Actions rows, one each. */
  devices: string[];
  /** The devices held by a maintenance window, newly queued for when it ends. */
  held: string[];
}

/** A scheduled row's Payload: the schedule that queued it, and the window that held it, if one did. */
type ScheduledPayload = ExecPayload & { schedule: string; heldBy?: string };

/** A due schedule: the devices it runs on now, and those a window holds until it ends (epoch ms). */
export interface DueRun {
  schedule: PolicySchedule;
  devices: readonly DeviceRecord[];
  /** Held by a window (named for the row's Payload.heldBy: "patch-night (group web)") until it ends. */
  held?: ReadonlyArray<{ device: DeviceRecord; until: number; window: string }>;
}

export function scheduleRuns(db: Db, store: ActionStore) {
  const last = db.prepare('SELECT PolicyId, ScheduleKey, LastRunAt FROM ScheduleRuns');
  const record = db.prepare(
    `INSERT INTO ScheduleRuns (PolicyId, ScheduleKey, LastRunAt) VALUES (?, ?, ?)
     ON CONFLICT (PolicyId, ScheduleKey) DO UPDATE SET LastRunAt = excluded.LastRunAt`,
  );
  const forget = db.prepare('DELETE FROM ScheduleRuns WHERE PolicyId = ? AND ScheduleKey = ?');
  // Every held run in one read (a scan of the Pending rows, whose payloads are JSON): once per
  // queue(), however many schedules come due together.
  const heldRuns = db.prepare(
    `SELECT json_extract(Payload, '$.schedule') AS Schedule, DeviceId, ScheduledAt FROM Actions
     WHERE Status = 'Pending'
       AND CASE WHEN json_valid(Payload) THEN json_extract(Payload, '$.heldBy') IS NOT NULL ELSE 0 END`,
  );
  const waitingRuns = (): Map<unknown, Map<string, string>> => {
    const bySchedule = new Map<unknown, Map<string, string>>();
    for (const r of heldRuns.all() as Array<{ Schedule: unknown; DeviceId: string; ScheduledAt: string }>) {
      const runs = bySchedule.get(r.Schedule) ?? new Map<string, string>();
      runs.set(r.DeviceId, r.ScheduledAt);
      bySchedule.set(r.Schedule, runs);
    }
    return bySchedule;
  };

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
    async queue(runs: readonly DueRun[], now: number) {
      // Payloads first: an inventory collector's text is read from disk, which a transaction must not wait on.
      const prepared = await Promise.all(
        runs.map(async ({ schedule, devices, held = [] }) => ({
          schedule,
          groups: await payloadGroups(schedule, devices),
          held: await Promise.all(
            [...byWindowEnd(held)].map(async ({ until, window, list }) => ({
              due: sqliteTime(new Date(until)),
              groups: await payloadGroups(schedule, list, window),
            })),
          ),
        })),
      );
      const due = sqliteTime(new Date(now));
      return db
        .transaction((): QueuedRun[] => {
          const waitingBySchedule = waitingRuns();
          return prepared.map(({ schedule, groups, held }) => {
            // A held run waiting for its window's end: never a second one; once due, it is this run.
            const waiting = waitingBySchedule.get(scheduleOrigin(schedule)) ?? new Map<string, string>();
            const devices: string[] = [];
            for (const { payload, names } of groups) {
              const fresh = names.filter((name) => !((waiting.get(name) ?? '\uffff') <= due));
              store.create(schedule.action, fresh, payload, {
                priority: schedule.priority,
                scheduledAt: due,
              });
              devices.push(...fresh);
            }
            const queuedHeld: string[] = [];
            for (const { due: end, groups: heldGroups } of held)
              for (const { payload, names } of heldGroups) {
                const fresh = names.filter((name) => !waiting.has(name));
                store.create(schedule.action, fresh, payload, {
                  priority: schedule.priority,
                  scheduledAt: end,
                });
                queuedHeld.push(...fresh);
              }
            record.run(schedule.policy, schedule.key, now);
            return { schedule, devices, held: queuedHeld };
          });
        })
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

/** Held devices by the window that holds them and its end. */
function byWindowEnd(
  held: ReadonlyArray<{ device: DeviceRecord; until: number; window: string }>,
): Array<{ until: number; window: string; list: DeviceRecord[] }> {
  const groups = new Map<string, { until: number; window: string; list: DeviceRecord[] }>();
  for (const { device, until, window } of held) {
    const key = `${until}\u0000${window}`;
    const group = groups.get(key) ?? { until, window, list: [] };
    group.list.push(device);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** What a scheduled row's Payload.schedule says: which policy's which schedule queued it. */
function scheduleOrigin(schedule: PolicySchedule): string {
  return `policy ${schedule.policy}: ${schedule.key}`;
}

/** One Payload per collector text (inventory) or one for all (exec), with its devices. */
async function payloadGroups(
  schedule: PolicySchedule,
  devices: readonly DeviceRecord[],
  heldBy?: string,
): Promise<Array<{ payload: ScheduledPayload; names: string[] }>> {
  const origin = { schedule: scheduleOrigin(schedule), ...(heldBy === undefined ? {} : { heldBy }) };
  if (schedule.action === 'exec') {
    if (devices.length === 0) return [];
    const payload = { command: schedule.command ?? '', ...SCHEDULED_EXEC_LIMITS, ...origin };
    return [{ payload, names: devices.map((d) => d.name) }];
  }
  const byCommand = new Map<string, { payload: ScheduledPayload; names: string[] }>();
  for (const device of devices) {
    const payload = await collectorPayload(device, SCHEDULED_INVENTORY_LIMITS);
    const entry = byCommand.get(payload.command) ?? { payload: { ...payload, ...origin }, names: [] };
    entry.names.push(device.name);
    byCommand.set(payload.command, entry);
  }
  return [...byCommand.values()];
}
