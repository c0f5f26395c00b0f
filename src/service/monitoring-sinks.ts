import { sqliteTime } from '../actions/schedule.js';
import type { AlertKey, Transition } from '../monitoring/alert-transitions.js';
import { alertKeyString } from '../monitoring/alert-transitions.js';
import type { Sample } from '../monitoring/samples.js';
import type { Reachability } from '../monitoring/session-pool.js';
import type { Db } from '../state/connection.js';

/**
 * Where a monitoring cycle leaves what it found. Two small interfaces, so that the cycle is tested
 * with memory and the service stores through the metric and alert stores (issue 12's storage
 * piece, service/stored-sinks.ts) without the cycle knowing either.
 */
export interface SampleSink {
  /** The cycle's accepted samples, in one batch. */
  write(samples: readonly Sample[]): void | Promise<void>;
}

export interface AlertSink {
  /** The keys of the alerts kept open, read once when the evaluator starts (a restart never fires them twice). */
  open(): readonly AlertKey[] | Promise<readonly AlertKey[]>;
  /** One row per fire, the open row closed per resolve. */
  apply(transitions: readonly Transition[], now: number): void | Promise<void>;
  /** Alerts this sink kept open that someone else has closed since (an operator): the evaluator forgets them. */
  closedElsewhere?(): readonly AlertKey[] | Promise<readonly AlertKey[]>;
}

/** Samples kept in memory: tests read them back. */
export class MemorySampleSink implements SampleSink {
  readonly samples: Sample[] = [];
  write(samples: readonly Sample[]): void {
    this.samples.push(...samples);
  }
}

/** Alerts kept in memory, with the store's one-open-alert-per-key rule: tests read them back. */
export class MemoryAlertSink implements AlertSink {
  readonly transitions: Transition[] = [];
  readonly #open = new Map<string, AlertKey>();
  constructor(open: readonly AlertKey[] = []) {
    for (const key of open) this.#open.set(alertKeyString(key), key);
  }
  open(): AlertKey[] {
    return [...this.#open.values()];
  }
  apply(transitions: readonly Transition[]): void {
    for (const t of transitions) {
      this.transitions.push(t);
      if (t.kind === 'fire') this.#open.set(alertKeyString(t.key), t.key);
      else this.#open.delete(alertKeyString(t.key));
    }
  }
}

/**
 * Devices.Status and LastSeen from each cycle's reachability: Online with LastSeen when reached,
 * Offline when not (LastSeen kept). One transaction per cycle, only rows whose status changes or
 * that were seen; these columns are observed, never written by apply.
 */
export function deviceHealth(db: Db) {
  const seen = db.prepare("UPDATE Devices SET Status = 'Online', LastSeen = ? WHERE DeviceId = ?");
  const away = db.prepare(
    "UPDATE Devices SET Status = 'Offline' WHERE DeviceId = ? AND Status IS NOT 'Offline'",
  );
  return {
    record(reachability: readonly Reachability[]): void {
      if (reachability.length === 0) return;
      db.transaction(() => {
        for (const r of reachability) {
          if (r.reachable) seen.run(sqliteTime(new Date(r.at)), r.device);
          else away.run(r.device);
        }
      })();
    },
  };
}

export type DeviceHealth = ReturnType<typeof deviceHealth>;
