import { jobSignals } from '../actions/job-signals.js';
import type { CredentialPolicy } from '../credentials/policy.js';
import type { QueuedAction } from '../plugin/api.js';
import type { ServiceLog } from '../service/service-log.js';
import type { TransportRegistry } from '../transports/registry.js';
import type { RelayLink, WorkBatch, WorkMessage } from './connection.js';
import { DeviceLanes, type LaneItem } from './device-lanes.js';
import { runQueuedAction } from './executor.js';
import { GroupCommit } from './group-commit.js';
import { decideIntake, isExpired } from './intake.js';
import { OutboxPublisher } from './outbox-publisher.js';
import type { Ended, RelayStore } from './relay-store.js';
import { type Finished, finishedReport, heartbeatReport, type ReportKind } from './reports.js';
import { dueForWorking, heartbeatDue, type Touched } from './timing.js';
import { readWorkMessage } from './work-message.js';

/**
 * The relay agent's work loop (docs/relay.md): pull work messages, decide what each is (intake.ts),
 * run new ones one per device and windowed per transport (device-lanes.ts) through the core runner
 * (executor.ts), and ack a message only once its finished report is committed to the outbox, which
 * a publisher sends on (outbox-publisher.ts). Every ActionId is recorded before it runs and never
 * started twice. Stopping takes no more work, hands waiting messages back, lets running actions
 * finish within the drain time, then cancels them, and publishes what it can.
 */
export interface RelayAgentOptions {
  name: string;
  version: string;
  store: RelayStore;
  link: RelayLink;
  /** Message ids of the reports (reports.ts reportMsgIds, keyed by the relay's password). */
  reportMsgId(actionId: string, kind: ReportKind): string;
  registry: TransportRegistry;
  credentials: CredentialPolicy;
  /** Per transport, at most this many at once (and at most the transport's batch size). */
  concurrency: number;
  log: ServiceLog;
  now: () => number;
  /** Work messages held at once, waiting or running (each is unacked until it ends). */
  maxHeld?: number;
}

interface Held extends LaneItem, Touched {
  msg: WorkMessage;
  action: QueuedAction;
}

const FETCH_EXPIRES_MS = 5000;
const PULL_RETRY_MS = [250, 500, 1000, 2000, 5000];
const TIMER_MS = 1000;
const HOUR_MS = 3_600_000;
/** How long a stop spends publishing what is left in the outbox. */
const FLUSH_MS = 5000;

export class RelayAgent {
  private readonly held = new Map<string, Held>();
  private readonly lanes: DeviceLanes<Held>;
  private readonly stopping = new AbortController();
  private readonly cancelRuns = new AbortController();
  /**
   * Each action runs through its own runner call: given cancelRuns.signal itself, 200 at once put
   * 200 listeners on it and Node warned (MaxListenersExceededWarning) in the service's log.
   */
  private readonly runSignals = jobSignals(this.cancelRuns.signal);
  private readonly running = new Set<Promise<void>>();
  private readonly publisher: OutboxPublisher;
  /** Starts and ends of one turn share a synced commit (group-commit.ts). */
  private readonly starts: GroupCommit<QueuedAction, boolean>;
  private readonly ends: GroupCommit<Ended, undefined>;
  private readonly publisherStop = new AbortController();
  private batch: WorkBatch | undefined;
  private roomWaiter: (() => void) | undefined;
  private lastBeatMs: number | undefined;
  private lastPruneMs = 0;
  private stopped: Promise<void> | undefined;
  private resolveDrained: () => void = () => {};
  /** Settles once a stop has drained (Node 20 has no Promise.withResolvers). */
  private readonly drained = new Promise<void>((resolve) => {
    this.resolveDrained = resolve;
  });

  constructor(private readonly o: RelayAgentOptions) {
    this.lanes = new DeviceLanes((transport) => {
      const batch = o.registry.transports.get(transport)?.transport.batchSize ?? 1;
      return Math.min(batch, o.concurrency);
    });
    this.starts = new GroupCommit((actions) => o.store.startMany(actions, o.now()));
    this.ends = new GroupCommit((ends) => {
      o.store.endMany(ends, o.now());
      return ends.map(() => undefined);
    });
    this.publisher = new OutboxPublisher({
      store: o.store,
      publish: (body, msgId) => o.link.publish(body, msgId),
      msgId: (actionId, kind) => o.reportMsgId(actionId, kind),
      now: o.now,
      wait: (ms, wake) => pause(ms, wake),
      log: o.log,
    });
  }

  /** Runs until stop(); resolves once stop() has drained and flushed. */
  async run(): Promise<void> {
    const timer = setInterval(() => this.tick(), TIMER_MS);
    try {
      // The loops end with the stop, but one may still wait on NATS (a publish during an outage):
      // the stop does not wait for them; closing the connection ends what they wait on.
      void this.publisher.run(this.publisherStop.signal);
      await this.o.link.waitForConsumer(this.stopping.signal);
      void this.pull();
      await this.drained;
    } finally {
      clearInterval(timer);
    }
  }

  /** Stops taking work; running actions get `drainMs`, then are cancelled; reports are flushed. */
  stop(drainMs: number): Promise<void> {
    this.stopped ??= this.drain(drainMs).finally(() => this.resolveDrained());
    return this.stopped;
  }

  private async drain(drainMs: number): Promise<void> {
    this.stopping.abort();
    this.batch?.stop();
    this.roomWaiter?.();
    for (const item of this.lanes.drainWaiting()) {
      item.msg.nak();
      this.held.delete(item.id);
    }
    this.o.log.info(
      { running: this.running.size, drainMs },
      'stopping: no new work; running actions may finish',
    );
    const done = Promise.allSettled([...this.running]);
    const stopWaiting = new AbortController();
    const drained = await Promise.race([
      done.then(() => true),
      pause(drainMs, stopWaiting.signal).then(() => false),
    ]);
    stopWaiting.abort();
    if (!drained) {
      this.o.log.warn({ running: this.running.size }, 'drain time is up: cancelling the running actions');
      this.cancelRuns.abort(new Error('the relay is stopping'));
      await done;
    }
    this.publisherStop.abort();
    // Reports NATS cannot take now stay in the outbox for the next start: a stop never waits on them.
    if (this.o.link.connected) {
      const flushed = new AbortController();
      await Promise.race([this.publisher.flush(this.o.now() + FLUSH_MS), pause(FLUSH_MS, flushed.signal)]);
      flushed.abort();
    }
  }

  /** For the heartbeat and rmm status: actions running now, and messages waiting for their device. */
  get counts(): { running: number; waiting: number; published: number } {
    return { running: this.lanes.running, waiting: this.lanes.waitingCount, published: this.publisher.count };
  }

  private async pull(): Promise<void> {
    const maxHeld = this.o.maxHeld ?? 1000;
    let failures = 0;
    // Ends with stop(); each pass is bounded by FETCH_EXPIRES_MS or a failure's pause.
    while (!this.stopping.signal.aborted) {
      const room = maxHeld - this.held.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => {
          this.roomWaiter = resolve;
        });
        this.roomWaiter = undefined;
        continue;
      }
      try {
        this.batch = await this.o.link.fetch(Math.min(room, 256), FETCH_EXPIRES_MS);
        if (this.stopping.signal.aborted) this.batch.stop();
        for await (const msg of this.batch) this.intake(msg);
        if (failures > 0) this.o.log.info({}, 'pulling work again');
        failures = 0;
      } catch (error) {
        if (failures++ === 0)
          this.o.log.warn({ error: (error as Error).message }, 'cannot pull work; trying again');
        const delay = PULL_RETRY_MS[Math.min(failures - 1, PULL_RETRY_MS.length - 1)] ?? 5000;
        await pause(delay, this.stopping.signal);
      } finally {
        this.batch = undefined;
      }
    }
  }

  private intake(msg: WorkMessage): void {
    if (this.stopping.signal.aborted) {
      msg.nak();
      return;
    }
    const { store, log } = this.o;
    const now = this.o.now();
    const read = readWorkMessage(msg.data, this.o.credentials, msg.msgId);
    const decision = decideIntake(
      read,
      (id) => store.known(id),
      (id) => this.held.has(id),
      now,
    );
    switch (decision.kind) {
      case 'refuse': {
        log.warn(
          { action: decision.reportFor, problem: decision.problem },
          'refused a work message; it is not run',
        );
        if (decision.reportFor)
          this.report(decision.reportFor, {
            status: 'Failed',
            error: `the relay refused this action: ${decision.problem}`,
            durationMs: 0,
          });
        msg.term();
        return;
      }
      case 'settled': {
        // Ended here before: never run again; its report goes (again) if it has not.
        const known = store.known(decision.actionId);
        if (known.state === 'final' && known.report === 'missing') store.reportEnded(now);
        this.publisher.kick();
        msg.ack();
        return;
      }
      case 'hold': {
        const held = this.held.get(decision.actionId);
        if (held) {
          held.msg = msg;
          held.touchedMs = now;
        }
        return;
      }
      case 'expire':
        this.expire(decision.action);
        msg.ack();
        return;
      case 'queue': {
        const { action } = decision;
        const item: Held = {
          id: action.actionId,
          device: action.device.name,
          transport: String(action.device.transport.type),
          msg,
          action,
          touchedMs: now,
        };
        this.held.set(item.id, item);
        this.lanes.add(item);
        this.pump();
      }
    }
  }

  private pump(): void {
    if (this.stopping.signal.aborted) return;
    for (let item = this.lanes.next(); item; item = this.lanes.next()) this.start(item);
  }

  private start(item: Held): void {
    const { log } = this.o;
    const run = (async () => {
      // It may have waited for its device past its deadline.
      if (isExpired(item.action, this.o.now())) this.expire(item.action);
      else if (await this.starts.add(item.action)) {
        this.publisher.kick();
        log.info({ action: item.id, device: item.device }, 'action started');
        const { signal, release } = this.runSignals.open();
        const { finished, end } = await runQueuedAction(item.action, {
          registry: this.o.registry,
          credentials: this.o.credentials,
          store: this.o.store.actions,
          signal,
          onNotice: (text) => log.warn({}, text),
        }).finally(release);
        const report = finishedReport(item.id, this.o.now(), finished);
        await this.ends.add({ id: item.id, device: item.device, type: item.action.type, ...end, report });
        this.publisher.kick();
        log.info(
          { action: item.id, device: item.device, status: finished.status, exitCode: finished.exitCode },
          'action ended',
        );
      }
      // The finished report is committed (or was before: an ActionId is never started twice).
      item.msg.ack();
    })()
      .catch((error: unknown) =>
        log.error({ action: item.id, error: (error as Error).message }, 'the action could not be recorded'),
      )
      .finally(() => {
        this.lanes.done(item);
        this.held.delete(item.id);
        this.running.delete(run);
        this.roomWaiter?.();
        this.pump();
      });
    this.running.add(run);
  }

  private expire(action: QueuedAction): void {
    this.o.log.warn({ action: action.actionId, expiresAt: action.expiresAt }, 'action expired; not run');
    this.report(action.actionId, {
      status: 'Expired',
      error: `not started: it expired at ${action.expiresAt} before the relay could start it`,
      durationMs: 0,
    });
  }

  private report(actionId: string, finished: Finished): void {
    const now = this.o.now();
    this.o.store.finish(actionId, finishedReport(actionId, now, finished), now);
    this.publisher.kick();
  }

  /** Once a second: heartbeat, working() for held messages, and an hourly prune of old reports. */
  private tick(): void {
    const now = this.o.now();
    for (const held of dueForWorking(this.held.values(), now)) {
      held.msg.working();
      held.touchedMs = now;
    }
    if (heartbeatDue(this.lastBeatMs, now) && this.o.link.connected) {
      this.lastBeatMs = now;
      const detail = {
        version: this.o.version,
        running: this.lanes.running,
        waiting: this.lanes.waitingCount,
      };
      this.o.link.publish(heartbeatReport(now, detail)).catch(() => {});
    }
    if (now - this.lastPruneMs >= HOUR_MS) {
      this.lastPruneMs = now;
      try {
        this.o.store.prune(now);
      } catch (error) {
        this.o.log.warn({ error: (error as Error).message }, 'could not prune published reports');
      }
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
