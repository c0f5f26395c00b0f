import type { ServiceLog } from '../service/service-log.js';
import type { OutboxRow, RelayStore } from './relay-store.js';
import type { ReportKind } from './reports.js';

/**
 * Sends RelayOutbox's reports to the console, oldest first, each with its message id
 * (reports.ts reportMsgIds: JetStream drops a repeat inside its duplicate window), and marks a report
 * published only once NATS acknowledged it (the PubAck). Through a NATS outage it keeps trying
 * with backoff; a report is never dropped. At most BATCH reports are in flight at once.
 */
export const PUBLISH_BATCH = 100;
const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 5000];
/** How often it looks without being woken: reports written by another path still go out. */
const IDLE_LOOK_MS = 1000;

export interface PublisherDeps {
  store: Pick<RelayStore, 'unpublished' | 'markPublished'>;
  /** Resolves once the stream stored it (a PubAck), rejects otherwise. */
  publish(body: string, msgId: string): Promise<void>;
  /** A report's message id, the same at every try (reports.ts reportMsgIds). */
  msgId(actionId: string, kind: ReportKind): string;
  now: () => number;
  /** Resolves after `ms`, or at once when woken or aborted. */
  wait(ms: number, wake: AbortSignal): Promise<void>;
  log: ServiceLog;
}

export class OutboxPublisher {
  private waker = new AbortController();
  private failures = 0;
  private published = 0;

  constructor(private readonly deps: PublisherDeps) {}

  /** Something was written to the outbox: send it now rather than at the next look. */
  kick(): void {
    this.waker.abort();
  }

  get count(): number {
    return this.published;
  }

  /** Publishes one batch; the number sent, or -1 when NATS refused or was not there. */
  async publishOnce(): Promise<number> {
    const rows = this.deps.store.unpublished(PUBLISH_BATCH);
    if (rows.length === 0) return 0;
    const outcomes = await Promise.allSettled(
      rows.map((row) => this.deps.publish(row.Body, this.deps.msgId(row.ActionId, row.Kind))),
    );
    const sent: OutboxRow[] = rows.filter((_, i) => outcomes[i]?.status === 'fulfilled');
    if (sent.length > 0) this.deps.store.markPublished(sent, this.deps.now());
    this.published += sent.length;
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (!failed) {
      if (this.failures > 0) this.deps.log.info({ reports: sent.length }, 'publishing reports again');
      this.failures = 0;
      return sent.length;
    }
    if (this.failures === 0)
      this.deps.log.warn(
        { error: (failed.reason as Error)?.message ?? String(failed.reason) },
        'cannot publish reports; they stay in the outbox and are sent again',
      );
    this.failures++;
    return -1;
  }

  /** Until `signal` aborts: publish what is waiting, pause after a failure, look again when woken. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // A kick while a batch is in flight is kept: this waker is already aborted when the wait starts.
      this.waker = new AbortController();
      const sent = await this.publishOnce().catch((error: unknown) => {
        this.deps.log.error({ error: (error as Error).message }, 'the outbox could not be read');
        this.failures++;
        return -1;
      });
      if (sent === PUBLISH_BATCH) continue;
      if (sent < 0) {
        // Not woken by new reports: during an outage every action would wake it.
        const delay = RETRY_DELAYS_MS[Math.min(this.failures - 1, RETRY_DELAYS_MS.length - 1)] ?? 5000;
        await this.deps.wait(delay, signal);
      } else await this.deps.wait(IDLE_LOOK_MS, AbortSignal.any([this.waker.signal, signal]));
    }
  }

  /** For a stop: publishes what it can within `deadlineMs` (clock ms), without pausing on failure. */
  async flush(deadlineMs: number): Promise<void> {
    for (let i = 0; i < 1000 && this.deps.now() < deadlineMs; i++) {
      const sent = await this.publishOnce().catch(() => -1);
      if (sent <= 0) return;
    }
  }
}
