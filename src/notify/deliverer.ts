import type { ServiceLog } from '../service/service-log.js';
import type { Sender, SendResult } from './content.js';
import { afterAttempt, DEFAULT_DELIVERY_POLICY, type DeliveryPolicy } from './delivery-policy.js';
import type { AttemptRecord, DueRow, OutboxStore } from './outbox-store.js';

/**
 * Sends the outbox's due rows through their channels' senders, beside the monitoring cycle, never
 * inside it: `pump` starts what is due and returns at once; a send that ends frees its slot and
 * starts the next. At most `perChannel` sends per channel and `overall` in all, so a dead or slow
 * channel holds only its own slots. Every attempt's outcome is recorded on the row (delivery-policy
 * decides Delivered, Failed, Expired or a retry time), in batches; a send cut by stop() records nothing, so the
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
/**
 * Outcomes are written in batches, at most this many rows or this many ms apart: a commit per row
 * (an fsync each) held a storm to about 330 deliveries a second.
 */
export const RECORD_BATCH_ROWS = 100;
export const RECORD_BATCH_MS = 25;

export class Deliverer {
  readonly #o: Required<Omit<DelivererOptions, 'policy'>> & { policy: DeliveryPolicy };
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #busyChannels = new Map<string, number>();
  #sending = 0;
  readonly #controller = new AbortController();
  #queue: DueRow[] = [];
  #batch: Array<{ row: DueRow; record: AttemptRecord; done: (written: boolean) => void }> = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: DelivererOptions) {
    this.#o = {
      policy: DEFAULT_DELIVERY_POLICY,
      perChannel: DEFAULT_PER_CHANNEL,
      overall: DEFAULT_OVERALL,
      attemptTimeoutMs: DEFAULT_ATTEMPT_TIMEOUT_MS,
      ...options,
    };
  }

  /** Sends waiting for a server's answer. */
  get inFlight(): number {
    return this.#sending;
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
        this.#sending >= this.#o.overall ||
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

  /**
   * A send holds its channel's slot until the server answered; its row stays in #inFlight (so no
   * pump starts it again) until its outcome is written.
   */
  #start(row: DueRow): void {
    this.#sending++;
    this.#busyChannels.set(row.channel, (this.#busyChannels.get(row.channel) ?? 0) + 1);
    let failed = false;
    const send = this.#attempt(row)
      .catch((error: unknown) => {
        failed = true;
        const message = error instanceof Error ? error.message : String(error);
        this.#o.log.error(
          { notification: row.id, channel: row.channel },
          `could not send a notification: ${message}`,
        );
        return undefined;
      })
      .then(async (record) => {
        this.#sending--;
        this.#busyChannels.set(row.channel, (this.#busyChannels.get(row.channel) ?? 1) - 1);
        // A row left Pending by an error waits for the next tick instead of going again at once.
        if (!failed) this.#pumpAfterSend();
        if (record) await this.#record(row, record);
      })
      .finally(() => this.#inFlight.delete(row.id));
    this.#inFlight.set(row.id, send);
  }

  /**
   * Refills the freed slot. It runs in a send's continuation, which nothing awaits until idle() or
   * stop(): a database error here is logged, never left to end rmm serve as an unhandled rejection.
   */
  #pumpAfterSend(): void {
    try {
      this.pump(false);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#o.log.error({}, `could not read the notifications due: ${message}; trying again next tick`);
    }
  }

  /** One attempt: the row's next state, or undefined when stop() cut it (nothing to record). */
  async #attempt(row: DueRow): Promise<AttemptRecord | undefined> {
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
      if (stopping.aborted && result.outcome !== 'delivered') return undefined;
    }
    const attempt = { attempts: row.attempts + 1, createdAt: row.createdAt };
    return afterAttempt(result, attempt, this.#o.now(), this.#o.random(), this.#o.policy);
  }

  /** Queues an outcome for the next batch; resolves once it is written (true) or could not be (false). */
  #record(row: DueRow, record: AttemptRecord): Promise<boolean> {
    return new Promise((done) => {
      this.#batch.push({ row, record, done });
      if (this.#batch.length >= RECORD_BATCH_ROWS) this.#flush();
      else this.#flushTimer ??= setTimeout(() => this.#flush(), RECORD_BATCH_MS);
    });
  }

  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const batch = this.#batch;
    this.#batch = [];
    if (batch.length === 0) return;
    let written: boolean[];
    try {
      written = this.#o.outbox.recordMany(
        batch.map(({ row, record }) => ({ id: row.id, attempt: record })),
        this.#o.now(),
      );
    } catch (error) {
      // Left Pending: they go again (same ids, so receivers can drop the repeats).
      const message = error instanceof Error ? error.message : String(error);
      this.#o.log.warn(
        { notifications: batch.length },
        `could not record ${batch.length} notification attempts: ${message}`,
      );
      for (const entry of batch) entry.done(false);
      return;
    }
    batch.forEach((entry, i) => {
      if (written[i]) this.#report(entry.row, entry.record);
      entry.done(true);
    });
  }

  #report(row: DueRow, record: AttemptRecord): void {
    const fields = {
      notification: row.id,
      channel: row.channel,
      event: row.event,
      attempt: row.attempts + 1,
    };
    if (record.status === 'Delivered') {
      this.#o.log.info({ ...fields, answer: record.answer }, 'notification delivered');
    } else if (record.status === 'Pending') {
      const at = new Date(record.nextAttemptAt).toISOString();
      this.#o.log.warn(
        { ...fields, answer: record.answer, retryAt: at },
        `notification not delivered; trying again at ${at}`,
      );
    } else {
      this.#o.log.warn(
        { ...fields, answer: record.answer, status: record.status },
        `notification ${record.status}`,
      );
    }
  }
}
