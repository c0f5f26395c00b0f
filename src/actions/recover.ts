import type { Db } from '../state/connection.js';
import { leaseLimitMs, readPayload } from './jobs.js';
import { type ActionStore, type Runner, THIS_RUNNER } from './store.js';

/**
 * Running rows whose runner is gone (killed, crashed, the machine rebooted) are ended before a
 * runner starts, so nothing stays Running forever. A runner is gone when its lease names this host
 * and a pid that is not alive, or when the lease (or, for a row without one, StartedAt) is older than
 * the action could take (leaseLimitMs): that covers runners on other hosts and reused pids.
 *
 * Such a row is never run again, nor set back to Pending: its command may have started on the device
 * (or even finished) before the runner died, and there is no telling. It ends Failed, saying so,
 * with an AuditLog row; whoever queued it decides whether to run it again.
 *
 * A Pending row with a lease belongs to the immediate `rmm exec` that queued it (store.create). If
 * that exec is gone (this host, pid not alive), nobody wants the row any more: it ends Cancelled,
 * never run. An owner on another host cannot be checked, and its exec may rightly take hours, so
 * such a row is left alone (no runner takes it; `rmm actions cancel` ends it).
 *
 * A Pending row with a delivery intent (ActionDeliveries) may already sit in a queue (a relay's):
 * its dead owner's lease is dropped and the row stays Pending, for the next submitter to submit
 * again with the same ActionId (the queue and the far side dedupe); it is never cancelled as not run.
 */
export interface Recovered {
  id: string;
  device: string;
  /**
   * Failed: it was Running; Cancelled: it was Pending, owned by an exec that stopped; Pending: it
   * may be queued, so it was released to be submitted again.
   */
  status: 'Failed' | 'Cancelled' | 'Pending';
  error: string;
}

interface RunningRow {
  ActionId: string;
  Status: 'Pending' | 'Running';
  DeviceId: string | null;
  ActionType: string;
  Payload: string | null;
  RunnerPid: number | null;
  RunnerHost: string | null;
  /** Milliseconds since the lease was taken (or the row started, or was created). */
  AgeMs: number | null;
  /** 1 when a delivery intent exists: the row may be in a queue. */
  Queued: number;
}

/**
 * What a recovered row says of the process that stopped: an rmm exec or runner on the console, or
 * a relay agent (src/relay/), whose rows the console reads with its own words.
 */
export interface RecoveryWording {
  /** A Running row whose runner (pid) stopped. */
  stopped(pid: number): string;
  /** A Pending row whose owner (pid) stopped before starting it. */
  orphaned(pid: number): string;
}

const MAYBE = 'it may or may not have completed';

export const RUNNER_WORDING: RecoveryWording = {
  stopped: (pid) => `the runner stopped (pid ${pid}) while this ran; ${MAYBE}`,
  orphaned: (pid) => `the rmm exec (pid ${pid}) that queued this stopped before it started; not run`,
};

/**
 * Call before this process claims anything: a lease naming this very pid can only be a dead
 * runner's whose pid the OS gave to us.
 */
export function recoverStaleActions(
  db: Db,
  store: ActionStore,
  me: Runner = THIS_RUNNER,
  wording: RecoveryWording = RUNNER_WORDING,
): Recovered[] {
  const running = db.prepare(
    `SELECT a.ActionId, a.Status, a.DeviceId, a.ActionType, a.Payload, l.RunnerPid, l.RunnerHost,
            (julianday('now') - julianday(coalesce(l.LeasedAt, a.StartedAt, a.CreatedAt))) * 86400000 AS AgeMs,
            EXISTS (SELECT 1 FROM ActionDeliveries d WHERE d.ActionId = a.ActionId) AS Queued
     FROM Actions a LEFT JOIN ActionLeases l ON l.ActionId = a.ActionId
     WHERE a.Status = 'Running' OR (a.Status = 'Pending' AND l.ActionId IS NOT NULL)
     ORDER BY a.rowid`,
  );
  // IMMEDIATE: two runners starting at once must not both end (and audit) the same row.
  const unlease = db.prepare('DELETE FROM ActionLeases WHERE ActionId = ?');
  return db
    .transaction(() => {
      const recovered: Recovered[] = [];
      for (const row of running.all() as RunningRow[]) {
        const device = row.DeviceId ?? '';
        if (row.Status === 'Pending' && row.Queued) {
          const why = whyOrphaned(row, me, wording);
          if (why && unlease.run(row.ActionId).changes > 0)
            recovered.push({
              id: row.ActionId,
              device,
              status: 'Pending',
              error: `the rmm (pid ${row.RunnerPid}) that was submitting this to its queue stopped; it may be queued already, so it stays Pending and is submitted again (never twice run)`,
            });
          continue;
        }
        if (row.Status === 'Pending') {
          const error = whyOrphaned(row, me, wording);
          if (
            error &&
            store.finish(row.ActionId, device, row.ActionType, 'Cancelled', { error, durationMs: 0 })
          )
            recovered.push({ id: row.ActionId, device, status: 'Cancelled', error });
          continue;
        }
        const error = whyStale(row, me, wording);
        if (!error) continue;
        const durationMs = Math.max(0, Math.round(row.AgeMs ?? 0));
        if (store.finish(row.ActionId, device, row.ActionType, 'Failed', { error, durationMs }))
          recovered.push({ id: row.ActionId, device, status: 'Failed', error });
      }
      return recovered;
    })
    .immediate();
}

/** Why an owned Pending row ends Cancelled, or undefined while its exec may still run it. */
function whyOrphaned(row: RunningRow, me: Runner, wording: RecoveryWording): string | undefined {
  const pid = row.RunnerPid;
  if (pid === null || row.RunnerHost !== me.host || (pid !== me.pid && isAlive(pid))) return undefined;
  return wording.orphaned(pid);
}

/** The error a stale row ends with, or undefined while its runner may still be at work. */
function whyStale(row: RunningRow, me: Runner, wording: RecoveryWording): string | undefined {
  const maybe = MAYBE;
  const pid = row.RunnerPid;
  if (pid !== null && row.RunnerHost === me.host && (pid === me.pid || !isAlive(pid)))
    return wording.stopped(pid);
  const limit = leaseLimitMs(readPayload(row.Payload));
  if ((row.AgeMs ?? 0) <= limit) return undefined;
  const seconds = Math.round(limit / 1000);
  if (pid === null)
    return `no runner holds this action and it has been Running longer than it may take (${seconds} s); ${maybe}`;
  return `the runner (pid ${pid} on ${row.RunnerHost}) has held this longer than it may take (${seconds} s); ${maybe}`;
}

/** Signal 0 checks a pid without signalling it; EPERM means it exists under another user. */
export function isAlive(pid: number): boolean {
  // kill(0) and negative pids address process groups: never a runner's own pid.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
