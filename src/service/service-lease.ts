import { RmmError } from '../errors.js';
import type { Db } from '../state/connection.js';

/**
 * One rmm serve per database: the ServiceLease row. A row in the database rather than a lock file
 * in the data directory, because the database is what must have one writer of samples, alerts and
 * schedules (a second data directory path to the same file, or a copied data directory, cannot
 * escape it), because taking it is one BEGIN IMMEDIATE transaction (two serves starting at once
 * cannot both win), and because rmm status reads it with the last cycle's figures in one place.
 * Node has no portable file lock that a killed process drops; the row needs the same pid check.
 */
export interface Holder {
  pid: number;
  host: string;
}

export interface LeaseRow {
  Pid: number;
  Host: string;
  StartedAt: number;
  HeartbeatAt: number;
  StoppedAt: number | null;
  LastCycleAt: number | null;
  LastCycleMs: number | null;
  LastCycle: string | null;
}

/** A holder that has not refreshed its heartbeat for this long is gone, wherever it ran. */
export const LEASE_STALE_MS = 2 * 60_000;

const SERVICE = 'serve';

export type LeaseVerdict =
  | { kind: 'free' }
  | { kind: 'held'; holder: Holder; since: number }
  /** Taken over: why the holder is deemed gone. */
  | { kind: 'stale'; why: string };

/**
 * Whether `me` may take the lease (pure). `alive` checks a pid on this host. A holder on another
 * host cannot be checked: only its heartbeat tells.
 */
export function leaseVerdict(
  row: LeaseRow | undefined,
  me: Holder,
  now: number,
  alive: (pid: number) => boolean,
  staleMs = LEASE_STALE_MS,
): LeaseVerdict {
  if (!row || row.StoppedAt !== null) return { kind: 'free' };
  const holder = { pid: row.Pid, host: row.Host };
  if (row.Host === me.host && (row.Pid === me.pid || !alive(row.Pid)))
    return { kind: 'stale', why: `rmm serve (pid ${row.Pid} on ${row.Host}) is not running any more` };
  const silent = now - row.HeartbeatAt;
  if (silent > staleMs)
    return {
      kind: 'stale',
      why: `rmm serve (pid ${row.Pid} on ${row.Host}) has not been heard from for ${Math.round(silent / 1000)} s`,
    };
  return { kind: 'held', holder, since: row.StartedAt };
}

export interface CycleRecord {
  at: number;
  ms: number;
  report: unknown;
}

export function serviceLease(db: Db, me: Holder, alive: (pid: number) => boolean) {
  const read = db.prepare('SELECT * FROM ServiceLease WHERE Service = ?');
  const take = db.prepare(
    `INSERT INTO ServiceLease (Service, Pid, Host, StartedAt, HeartbeatAt, StoppedAt)
     VALUES (?, ?, ?, ?, ?, NULL)
     ON CONFLICT (Service) DO UPDATE SET Pid = excluded.Pid, Host = excluded.Host,
       StartedAt = excluded.StartedAt, HeartbeatAt = excluded.HeartbeatAt, StoppedAt = NULL`,
  );
  // Only while the row is still ours: a serve that lost it (declared stale, taken over) must notice.
  const mine = 'Service = ? AND Pid = ? AND Host = ? AND StoppedAt IS NULL';
  const beat = db.prepare(`UPDATE ServiceLease SET HeartbeatAt = ? WHERE ${mine}`);
  const cycle = db.prepare(
    `UPDATE ServiceLease SET HeartbeatAt = ?, LastCycleAt = ?, LastCycleMs = ?, LastCycle = ? WHERE ${mine}`,
  );
  const stop = db.prepare(`UPDATE ServiceLease SET StoppedAt = ?, HeartbeatAt = ? WHERE ${mine}`);

  return {
    /**
     * Takes the lease, or throws `service-running` (exit 3) naming the holder. Returns why a previous holder was
     * deemed gone, for a notice, or undefined when the lease was free.
     */
    acquire(now: number): string | undefined {
      return db
        .transaction(() => {
          const verdict = leaseVerdict(read.get(SERVICE) as LeaseRow | undefined, me, now, alive);
          if (verdict.kind === 'held')
            throw new RmmError(
              'service-running',
              `another rmm serve runs against this database: pid ${verdict.holder.pid} on ${verdict.holder.host}, since ${new Date(verdict.since).toISOString()}`,
              {
                details: [
                  'one rmm serve per database; stop that one first (SIGTERM), or see it with rmm status',
                  `a serve that stopped without a word is taken over once it has been silent for ${LEASE_STALE_MS / 1000} s`,
                ],
              },
            );
          take.run(SERVICE, me.pid, me.host, now, now);
          return verdict.kind === 'stale' ? verdict.why : undefined;
        })
        .immediate();
    },

    /** Refreshes the heartbeat; false when the lease is no longer this process's. */
    heartbeat(now: number): boolean {
      return beat.run(now, SERVICE, me.pid, me.host).changes === 1;
    },

    /** Records a finished monitoring cycle (and refreshes the heartbeat). */
    recordCycle(now: number, record: CycleRecord): boolean {
      return (
        cycle.run(
          now,
          record.at,
          Math.round(record.ms),
          JSON.stringify(record.report),
          SERVICE,
          me.pid,
          me.host,
        ).changes === 1
      );
    },

    /** Gives the lease up: rmm status then shows no serve running, and its last cycle. */
    release(now: number): boolean {
      return stop.run(now, now, SERVICE, me.pid, me.host).changes === 1;
    },
  };
}

export type ServiceLease = ReturnType<typeof serviceLease>;

/** The lease row as stored, for rmm status. */
export function readLease(db: Db): LeaseRow | undefined {
  return db.prepare('SELECT * FROM ServiceLease WHERE Service = ?').get(SERVICE) as LeaseRow | undefined;
}
