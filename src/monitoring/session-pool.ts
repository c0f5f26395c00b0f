import type { DeviceRecord } from '../actions/targets.js';
import type { CredentialPolicy } from '../credentials/policy.js';
import type { Session, Transport } from '../plugin/api.js';
import { abortable } from './abortable.js';
import { type DeviceConnection, DeviceConnections } from './open-device-session.js';
import { type BackoffPolicy, DEFAULT_BACKOFF, retryDelayMs } from './reconnect-backoff.js';

/**
 * Sessions kept open between collection cycles: collecting every minute must not pay a handshake
 * every minute (docs/monitoring.md#sessions). One session per device, lent to one caller at a time.
 * Bounded: at most `maxOpen` sessions open or opening, and per transport at most its batch size in
 * use at once. A session unused for `idleMs` is closed (closeIdle), the least recently used one
 * when a new device needs room. A device that cannot be reached is reported with the time and
 * tried again only after a backoff with jitter. Time and chance are inputs (now, random).
 */
export interface Reachability {
  /** The device's name (Devices.DeviceId). */
  device: string;
  reachable: boolean;
  /** When this was learned, on the console's clock. */
  at: number;
  /** Why not (never a secret: transports name references, not values). */
  error?: string;
  /** Unreachable: when the current run of failures began; the offline alert's threshold counts from it. */
  since?: number;
}

export interface SessionPoolOptions {
  transports: ReadonlyMap<string, Transport>;
  credentials: CredentialPolicy;
  now: () => number;
  /** In [0, 1): the jitter of the backoff. */
  random?: () => number;
  maxOpen?: number;
  idleMs?: number;
  connectTimeoutMs?: number;
  /** A transport's close() that does not settle within this is left behind. */
  closeTimeoutMs?: number;
  backoff?: BackoffPolicy;
}

export type PoolOutcome<T> =
  /** The work ran on a session and returned. */
  | { kind: 'done'; reachability: Reachability; value: T }
  /** The device was reached, and the work failed for another reason (the session was kept unless it may be stuck). */
  | { kind: 'failed'; reachability: Reachability; error: Error }
  | { kind: 'unreachable'; reachability: Reachability }
  /** Nothing was tried: the pool is closed, or the signal ended the wait for a free slot. */
  | { kind: 'not-tried'; reason: string };

export interface PoolStats {
  /** Sessions open or opening now, and the most there ever were at once. */
  open: number;
  peakOpen: number;
  /** Connections attempted since the pool started, and how many of them failed. */
  connects: number;
  connectFailures: number;
}

interface Entry {
  name: string;
  session?: Session;
  signature?: string;
  /** Lent out: one caller at a time, whatever the transport allows. */
  busy: boolean;
  lastUsed: number;
  failures: number;
  retryAt: number;
  since?: number;
  lastError?: string;
}

/** A failure that means the connection is gone (TransportError `unreachable`, from any copy of the class). */
function connectionLost(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'TransportError' &&
    (error as { code?: unknown }).code === 'unreachable'
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class SessionPool {
  readonly #options: Required<Omit<SessionPoolOptions, 'transports' | 'credentials'>> &
    Pick<SessionPoolOptions, 'credentials'>;
  readonly #connections: DeviceConnections;
  readonly #entries = new Map<string, Entry>();
  /** Entries holding a session nobody uses, least recently used first. */
  readonly #idle = new Map<string, Entry>();
  /** Per transport: sessions in use or opening. */
  readonly #inUse = new Map<string, number>();
  /** Woken on every release or close, to look again for room. */
  #wakers: Array<() => void> = [];
  #open = 0;
  #peakOpen = 0;
  #connects = 0;
  #connectFailures = 0;
  #closed = false;

  constructor(options: SessionPoolOptions) {
    this.#connections = new DeviceConnections(options.transports);
    this.#options = {
      credentials: options.credentials,
      now: options.now,
      random: options.random ?? Math.random,
      maxOpen: options.maxOpen ?? 1000,
      idleMs: options.idleMs ?? 10 * 60_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
    };
  }

  stats(): PoolStats {
    return {
      open: this.#open,
      peakOpen: this.#peakOpen,
      connects: this.#connects,
      connectFailures: this.#connectFailures,
    };
  }

  /**
   * Runs `work` on the device's session, opening one if none is kept (unless the device is in its
   * backoff). `signal` bounds the whole: waiting for room, connecting and the work; work that does
   * not stop when it aborts is left behind and its session dropped.
   */
  async use<T>(
    device: DeviceRecord,
    signal: AbortSignal,
    work: (session: Session, signal: AbortSignal) => Promise<T>,
  ): Promise<PoolOutcome<T>> {
    if (this.#closed) return { kind: 'not-tried', reason: 'the session pool is closed' };
    const entry = this.#entries.get(device.name) ?? this.#newEntry(device.name);
    const connection = this.#connections.prepare(device);
    const transport = 'problem' in connection ? '' : connection.transport.name;
    if (
      !(await this.#take(
        entry,
        transport,
        'problem' in connection ? 0 : connection.transport.batchSize,
        signal,
      ))
    )
      return {
        kind: 'not-tried',
        reason: this.#closed
          ? 'the session pool is closed'
          : `no free slot in time: ${messageOf(signal.reason)}`,
      };
    try {
      if (this.#closed) return { kind: 'not-tried', reason: 'the session pool is closed' };
      if ('problem' in connection) return this.#unreachable(entry, connection.problem, true);
      if (entry.session && entry.signature !== connection.signature) this.#drop(entry);
      if (!entry.session) {
        const now = this.#options.now();
        if (now < entry.retryAt)
          return this.#unreachable(
            entry,
            `not tried again until ${new Date(entry.retryAt).toISOString()} (${entry.failures} failed attempt${entry.failures === 1 ? '' : 's'}; last: ${entry.lastError})`,
            false,
          );
        const opened = await this.#connect(entry, connection, signal);
        if (typeof opened === 'string') return this.#unreachable(entry, opened, true);
      }
      return await this.#run(entry, signal, work);
    } finally {
      this.#give(entry, transport);
    }
  }

  /** Closes the sessions unused for idleMs, and forgets devices not asked about for as long. */
  async closeIdle(): Promise<number> {
    const horizon = this.#options.now() - this.#options.idleMs;
    const closing: Session[] = [];
    for (const entry of this.#idle.values()) {
      if (entry.lastUsed > horizon) break;
      const session = entry.session;
      this.#drop(entry);
      if (session) closing.push(session);
    }
    for (const [name, entry] of this.#entries)
      if (!entry.busy && !entry.session && entry.lastUsed <= horizon) this.#entries.delete(name);
    await Promise.all(closing.map((session) => this.#closeBounded(session)));
    return closing.length;
  }

  /** Closes every session (those in use too: their work fails); later calls to use() return 'not-tried'. */
  async close(): Promise<void> {
    this.#closed = true;
    const closing: Session[] = [];
    for (const entry of this.#entries.values()) {
      const session = entry.session;
      this.#drop(entry);
      if (session) closing.push(session);
    }
    this.#wake();
    await Promise.all(closing.map((session) => this.#closeBounded(session)));
  }

  #newEntry(name: string): Entry {
    const entry: Entry = { name, busy: false, lastUsed: this.#options.now(), failures: 0, retryAt: 0 };
    this.#entries.set(name, entry);
    return entry;
  }

  /** Waits (bounded by the signal) until the entry is free and its transport has a slot; false if aborted. */
  async #take(entry: Entry, transport: string, batchSize: number, signal: AbortSignal): Promise<boolean> {
    // Each pass either takes both or waits for a release: the loop ends when one comes, or at abort.
    while (entry.busy || (transport !== '' && (this.#inUse.get(transport) ?? 0) >= batchSize)) {
      if (signal.aborted || this.#closed) return false;
      await this.#nextRelease(signal);
    }
    if (signal.aborted) return false;
    entry.busy = true;
    this.#idle.delete(entry.name);
    if (transport !== '') this.#inUse.set(transport, (this.#inUse.get(transport) ?? 0) + 1);
    return true;
  }

  #give(entry: Entry, transport: string): void {
    entry.busy = false;
    entry.lastUsed = this.#options.now();
    if (transport !== '') this.#inUse.set(transport, (this.#inUse.get(transport) ?? 1) - 1);
    if (entry.session) this.#idle.set(entry.name, entry);
    this.#wake();
  }

  async #connect(entry: Entry, connection: DeviceConnection, signal: AbortSignal): Promise<Session | string> {
    if (!(await this.#reserve(signal))) return messageOf(signal.reason);
    this.#connects++;
    let session: Session;
    try {
      session = await abortable(
        this.#connections.connect(
          connection,
          this.#options.credentials,
          this.#options.connectTimeoutMs,
          signal,
        ),
        signal,
        (late) => void this.#closeBounded(late),
      );
    } catch (error) {
      this.#open--;
      this.#connectFailures++;
      this.#wake();
      return signal.aborted ? `not connected in time: ${messageOf(signal.reason)}` : messageOf(error);
    }
    entry.session = session;
    entry.signature = connection.signature;
    // A session that ends on its own (the device rebooted, a keepalive failed) is dropped at once,
    // so the next cycle connects again instead of failing on a dead session.
    const ended = session.connectionClosed;
    const forget = () => this.#forget(entry, session);
    if (typeof ended?.then === 'function') ended.then(forget, forget);
    return session;
  }

  async #run<T>(
    entry: Entry,
    signal: AbortSignal,
    work: (session: Session, signal: AbortSignal) => Promise<T>,
  ): Promise<PoolOutcome<T>> {
    const session = entry.session as Session;
    try {
      const value = await abortable(work(session, signal), signal, () => {});
      entry.failures = 0;
      entry.retryAt = 0;
      delete entry.since;
      delete entry.lastError;
      return {
        kind: 'done',
        reachability: { device: entry.name, reachable: true, at: this.#options.now() },
        value,
      };
    } catch (error) {
      if (connectionLost(error) && !signal.aborted) {
        this.#drop(entry, true);
        return this.#unreachable(entry, messageOf(error), true);
      }
      // A command that ran out of time may hold a connection that no longer answers: a new one
      // next cycle tells. Other failures (a refused command) leave the session as good as it was.
      const stuck = signal.aborted || (error as { code?: unknown }).code === 'timed-out';
      if (stuck) this.#drop(entry, true);
      const reason = signal.aborted
        ? new Error(`no answer in time: ${messageOf(signal.reason)}`)
        : (error as Error);
      return {
        kind: 'failed',
        reachability: { device: entry.name, reachable: true, at: this.#options.now() },
        error: reason instanceof Error ? reason : new Error(String(reason)),
      };
    }
  }

  /** Records a failure (`attempted`: a real attempt, which moves the backoff) and reports it. */
  #unreachable(entry: Entry, error: string, attempted: boolean): PoolOutcome<never> {
    const now = this.#options.now();
    if (attempted) {
      entry.failures++;
      entry.since ??= now;
      entry.lastError = error;
      entry.retryAt = now + retryDelayMs(entry.failures, this.#options.random(), this.#options.backoff);
    }
    const reachability: Reachability = { device: entry.name, reachable: false, at: now, error };
    if (entry.since !== undefined) reachability.since = entry.since;
    return { kind: 'unreachable', reachability };
  }

  /**
   * Counts one more session open, once fewer than maxOpen are (closing the least recently used idle
   * one if need be); false if the signal ended the wait. The count is taken in the same turn as the
   * check: waiters woken together would otherwise all see the one free place.
   */
  async #reserve(signal: AbortSignal): Promise<boolean> {
    while (this.#open >= this.#options.maxOpen) {
      const oldest = this.#idle.values().next().value as Entry | undefined;
      if (oldest) {
        const session = oldest.session;
        this.#drop(oldest);
        if (session) void this.#closeBounded(session);
        continue;
      }
      if (signal.aborted || this.#closed) return false;
      await this.#nextRelease(signal);
    }
    if (signal.aborted) return false;
    this.#open++;
    this.#peakOpen = Math.max(this.#peakOpen, this.#open);
    return true;
  }

  /** Takes the session away from its entry (closed in the background when `close`). */
  #drop(entry: Entry, close = false): void {
    const session = entry.session;
    if (!session) return;
    this.#forget(entry, session);
    if (close) void this.#closeBounded(session);
  }

  #forget(entry: Entry, session: Session): void {
    if (entry.session !== session) return;
    delete entry.session;
    delete entry.signature;
    this.#idle.delete(entry.name);
    this.#open--;
    this.#wake();
  }

  #nextRelease(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.#wakers.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  #wake(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
  }

  /** A plugin's close() that never settles must not hold the service's shutdown. */
  async #closeBounded(session: Session): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.resolve()
        .then(() => session.close())
        .catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#options.closeTimeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }
}
