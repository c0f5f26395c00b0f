import type { ServiceLog } from '../service/service-log.js';
import type { Sender, SendResult } from './content.js';
import { afterAttempt, DEFAULT_DELIVERY_POLICY, type DeliveryPolicy } from './delivery-policy.js';
import type { AttemptRecord, DueRow, OutboxStore } from './outbox-store.js';

/**
 * Sends the outbox's due rows through their channels' senders, beside the monitoring cycle, never
 * inside it: `pump` starts what is due and returns at once; a send that ends frees its slot and
 * starts the next. At most `perChannel` sends per channel and `overall` in all, so a dead or slow
 * channel holds only its own slots. Every attempt's outcome is recorded on the row (delivery-policy
 * decides Delivered, Failed, Expired or a retry time); a send cut by stop() records nothing, so the
 * row stays Pending and goes again, with the same id, after a restart. docs/notifications.md#delivery.
 */
export interface DelivererOptions {
  outbox: OutboxStore;
  /** The channel's sender; undefined for a channel no longer declared (its rows fail). */
  senderOf: (channel: string) => Sender | undefined;
  now: () => number;
  /** Uniform in [0, 1): the jitter of retry waits. */
  random: () => number;
  log: ServiceLog;
  policy?: DeliveryPolicy;
  perChannel?: number;
  overall?: number;
  /** A bound over each send, beside the sender's own timeout. */
  attemptTimeoutMs?: number;
}

export const DEFAULT_PER_CHANNEL = 4;
export const DEFAULT_OVERALL = 32;
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 60_000;

/** What the deliverer has done since it started, for logs and the benchmark. */
export interface DeliveryCounts {
  attempts: number;
  delivered: number;
  retried: number;
  failed: number;
  expired: number;
}

export class Deliverer {
  readonly #o: Required<Omit<DelivererOptions, 'policy'>> & { policy: DeliveryPolicy };
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #busyChannels = new Map<string, number>();
  readonly #controller = new AbortController();
  #queue: DueRow[] = [];
  readonly counts: DeliveryCounts = { attempts: 0, delivered: 0, retried: 0, failed: 0, expired: 0 };

  constructor(options: DelivererOptions) {
    this.#o = {
      policy: DEFAULT_DELIVERY_POLICY,
      perChannel: DEFAULT_PER_CHANNEL,
      overall: DEFAULT_OVERALL,
      attemptTimeoutMs: DEFAULT_ATTEMPT_TIMEOUT_MS,
      ...options,
    };
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Starts due sends within the limits; `fresh` rereads the due rows (each service tick does), else
   * the rows read last are used up first. Returns how many sends it started.
   */
  pump(fresh = true): number {
    if (this.#controller.signal.aborted) return 0;
    if (fresh || this.#queue.length === 0) {
      const due = this.#o.outbox.due(this.#o.now(), this.#o.overall * 4);
      this.#queue = due.filter((row) => !this.#inFlight.has(row.id));
    }
    let started = 0;
    const waiting: DueRow[] = [];
    for (const row of this.#queue) {
      if (
        this.#inFlight.size >= this.#o.overall ||
        (this.#busyChannels.get(row.channel) ?? 0) >= this.#o.perChannel
      ) {
        waiting.push(row);
        continue;
      }
      this.#start(row);
      started++;
    }
    this.#queue = waiting;
    return started;
  }

  /** Waits until nothing is in flight (sends that end start others; those are waited for too). */
  async idle(): Promise<void> {
    for (let round = 0; this.#inFlight.size > 0 && round < 1_000_000; round++)
      await Promise.race(this.#inFlight.values());
  }

  /**
   * Delivers everything due now and waits for it (rmm serve --once), in at most `maxRounds` reads of
   * the due rows; retries that come due meanwhile go too.
   */
  async deliverDue(maxRounds = 100): Promise<void> {
    for (let round = 0; round < maxRounds && !this.#controller.signal.aborted; round++) {
      this.pump(true);
      if (this.#inFlight.size === 0) return;
      await this.idle();
    }
  }

  /** Cuts what is in flight (those rows stay Pending, unrecorded) and waits for it to end. */
  async stop(): Promise<void> {
    this.#controller.abort(new Error('rmm serve is stopping'));
    await Promise.allSettled(this.#inFlight.values());
  }

  #start(row: DueRow): void {
    this.#busyChannels.set(row.channel, (this.#busyChannels.get(row.channel) ?? 0) + 1);
    const send = this.#send(row)
      .catch((error: unknown): boolean => {
        const message = error instanceof Error ? error.message : String(error);
        this.#o.log.error(
          { notification: row.id, channel: row.channel },
          `could not send a notification: ${message}`,
        );
        return false;
      })
      .then((recorded) => {
        this.#inFlight.delete(row.id);
        this.#busyChannels.set(row.channel, (this.#busyChannels.get(row.channel) ?? 1) - 1);
        // A row left Pending by an error waits for the next tick instead of going again at once.
        if (recorded) this.pump(false);
      });
    this.#inFlight.set(row.id, send);
  }

  /** One attempt; true when its outcome was recorded. */
  async #send(row: DueRow): Promise<boolean> {
    const stopping = this.#controller.signal;
    const content = this.#o.outbox.content(row);
    const sender = this.#o.senderOf(row.channel);
    let result: SendResult;
    if (!content)
      result = { outcome: 'rejected', answer: 'its alerts no longer exist (their device was removed)' };
    else if (!sender)
      result = { outcome: 'rejected', answer: `no NotificationChannel named ${row.channel} is declared` };
    else {
      const signal = AbortSignal.any([stopping, AbortSignal.timeout(this.#o.attemptTimeoutMs)]);
      try {
        result = await sender(content, { signal });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        result = { outcome: 'retry', answer: `the sender failed: ${message}` };
      }
      if (stopping.aborted && result.outcome !== 'delivered') return false;
    }
    const attempt = { attempts: row.attempts + 1, createdAt: row.createdAt };
    return this.#record(row, afterAttempt(result, attempt, this.#o.now(), this.#o.random(), this.#o.policy));
  }

  #record(row: DueRow, record: AttemptRecord): boolean {
    const fields = {
      notification: row.id,
      channel: row.channel,
      event: row.event,
      attempt: row.attempts + 1,
    };
    try {
      if (!this.#o.outbox.record(row.id, record, this.#o.now())) return true;
    } catch (error) {
      // Left Pending: it goes again (same id, so the receiver can drop the repeat).
      const message = error instanceof Error ? error.message : String(error);
      this.#o.log.warn(
        { ...fields, status: record.status },
        `could not record a notification's attempt: ${message}`,
      );
      return false;
    }
    this.counts.attempts++;
    if (record.status === 'Delivered') {
      this.counts.delivered++;
      this.#o.log.info({ ...fields, answer: record.answer }, 'notification delivered');
    } else if (record.status === 'Pending') {
      this.counts.retried++;
      const at = new Date(record.nextAttemptAt).toISOString();
      this.#o.log.warn(
        { ...fields, answer: record.answer, retryAt: at },
        `notification not delivered; trying again at ${at}`,
      );
    } else {
      this.counts[record.status === 'Failed' ? 'failed' : 'expired']++;
      this.#o.log.warn(
        { ...fields, answer: record.answer, status: record.status },
        `notification ${record.status}`,
      );
    }
    return true;
  }
}
