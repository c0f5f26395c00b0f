import { isBusy } from '../actions/busy.js';
import { actionHooks } from '../actions/hooks.js';
import { toJobs } from '../actions/jobs.js';
import { type ActionEvent, runActions } from '../actions/runner.js';
import type { ActionStore } from '../actions/store.js';
import type { CredentialPolicy } from '../credentials/policy.js';
import { isRmmError, RmmError } from '../errors.js';
import { windowLabel } from '../maintenance/fleet-windows.js';
import type { Db } from '../state/connection.js';
import { stateRevision } from '../state/resource-store.js';
import type { TransportRegistry } from '../transports/registry.js';
import { devicesOfPolicy, type Fleet, readFleet } from './fleet.js';
import type { MonitoringCycle } from './monitoring-cycle.js';
import type { NotificationStep } from './notifications.js';
import type { QueuedStep } from './queued-step.js';
import type { MetricRetention } from './retention.js';
import type { ScheduleRuns } from './schedule-runs.js';
import { dueSchedules, holdDuringMaintenance, scheduleRunKey } from './schedules.js';
import type { ServiceLease } from './service-lease.js';
import type { ServiceLog } from './service-log.js';

/**
 * rmm serve's work, one tick at a time: keep the lease, notice an rmm apply (the state revision),
 * queue the policies' schedules that are due, run the queue's due actions through the action runner,
 * and start a monitoring cycle when one is due. A tick only starts work: the queue run and the cycle
 * go on in the background, one of each at a time, so a long action never delays a cycle. stop()
 * cancels what runs (actions end Cancelled, as the runners' Ctrl-C does), waits for it, closes the
 * sessions and gives the lease back. Time is an input (now); nothing here sleeps.
 *
 * Another writer (an rmm apply) holding the write lock makes a write wait out the busy timeout and
 * fail; the service logs it and tries again the next tick, never crashes.
 */
export interface ServiceOptions {
  db: Db;
  store: ActionStore;
  lease: ServiceLease;
  runs: ScheduleRuns;
  now: () => number;
  log: ServiceLog;
  /** What the queue step runs actions with; no queue step without it. */
  queue?: {
    registry: TransportRegistry;
    credentials: CredentialPolicy;
    concurrency: number;
    /** Due actions taken per run. */
    limit: number;
  };
  cycle?: MonitoringCycle;
  /** Deletes samples past the cold tier's retention (retention.ts decides when). */
  retention?: MetricRetention;
  /** Owes repeats and delivers the outbox's due notifications, beside the cycle (notifications.ts). */
  notifications?: NotificationStep;
  /** Submits the due actions a queue carries and collects what queues report (queued-step.ts). */
  queued?: QueuedStep;
}

export class Service {
  #fleet: Fleet | undefined;
  #queueRun: Promise<void> | undefined;
  #cycleRun: Promise<void> | undefined;
  #nextCycleAt = Number.NEGATIVE_INFINITY;
  #stopped: Promise<void> | undefined;
  readonly #controller = new AbortController();
  /** Why the service must stop on its own (its lease was taken over); a command exits with it. */
  fatal: RmmError | undefined;
  /** Work that failed for a reason other than a device (a bug, a database error): --once exits 1. */
  failures = 0;
  readonly #o: ServiceOptions;

  constructor(options: ServiceOptions) {
    this.#o = options;
  }

  /** Aborted by stop(), or when the service lost its lease. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get fleet(): Fleet | undefined {
    return this.#fleet;
  }

  async tick(): Promise<void> {
    if (this.signal.aborted) return;
    const now = this.#o.now();
    const kept = this.#attempt('refreshing its lease', () => this.#o.lease.heartbeat(now));
    if (kept === false) {
      this.fatal = new RmmError('service-running', 'this rmm serve lost its lease to another one; stopping', {
        details: ['it was silent long enough to be taken for stopped; see rmm status'],
      });
      this.#o.log.error({}, this.fatal.message);
      this.#controller.abort(this.fatal);
      return;
    }
    this.#reload();
    await this.#queueSchedules(now);
    this.#startQueue();
    if (this.#o.queued && !this.signal.aborted) this.#o.queued.tick(this.signal);
    this.#startCycle(now);
    this.#deleteOldSamples(now);
    this.#notify(now);
  }

  /** Waits for the work in flight (rmm serve --once: everything due now, then exit). */
  async idle(): Promise<void> {
    await Promise.all([this.#queueRun, this.#cycleRun, this.#o.queued?.idle()]);
    // What the cycle owed (and was due at once) goes out before --once exits.
    if (this.#o.notifications && !this.signal.aborted) {
      this.#notify(this.#o.now());
      await this.#o.notifications.deliverDue();
    }
  }

  /** Stops taking work, cancels what runs, waits for it, closes sessions, gives the lease back. */
  stop(reason: string): Promise<void> {
    if (!this.signal.aborted) this.#controller.abort(new Error(reason));
    this.#stopped ??= (async () => {
      // A queue pass cut here leaves its reports unacked: they come again to the next serve.
      await Promise.all([this.#queueRun, this.#cycleRun, this.#o.queued?.stop()]);
      // Sends in flight are cut and their rows stay Pending: the next serve sends them, same ids.
      await this.#o.notifications?.stop();
      await this.#o.cycle?.close();
      const now = this.#o.now();
      if (!this.fatal) this.#attempt('giving its lease back', () => this.#o.lease.release(now));
    })();
    return this.#stopped;
  }

  /** Reads the fleet again when an apply moved the state revision (and on the first tick). */
  #reload(): void {
    const revision = this.#attempt('reading the state revision', () => stateRevision(this.#o.db));
    if (revision === undefined || revision === this.#fleet?.revision) return;
    const fleet = this.#attempt('reading devices and policies', () => readFleet(this.#o.db));
    if (!fleet) return;
    const first = this.#fleet === undefined;
    this.#fleet = fleet;
    const schedules = [...fleet.schedules.values()].flat();
    this.#o.log.info(
      {
        revision,
        devices: fleet.devices.length,
        policies: fleet.schedules.size,
        schedules: schedules.length,
      },
      first
        ? 'read devices and policies'
        : 'an apply moved the state revision: read devices and policies again',
    );
    for (const problem of fleet.problems) this.#o.log.warn({}, problem);
    const keys = new Set(schedules.map(scheduleRunKey));
    this.#attempt('forgetting removed schedules', () => this.#o.runs.forgetAllBut(keys));
  }

  async #queueSchedules(now: number): Promise<void> {
    const fleet = this.#fleet;
    if (!fleet) return;
    const lastRuns = this.#attempt('reading schedule runs', () => this.#o.runs.lastRuns());
    if (!lastRuns) return;
    const due = dueSchedules([...fleet.schedules.values()].flat(), lastRuns, now);
    if (due.length === 0) return;
    const runs = due.map((schedule) => {
      const split = holdDuringMaintenance(devicesOfPolicy(fleet, schedule.policy), (device) => {
        const window = fleet.maintenance.schedulesHeldBy(device, now);
        return window && { until: window.endsAt, window: windowLabel(window) };
      });
      return { schedule, devices: split.now, held: split.held };
    });
    try {
      for (const run of await this.#o.runs.queue(runs, now))
        this.#o.log.info(
          {
            policy: run.schedule.policy,
            schedule: run.schedule.key,
            devices: run.devices.length,
            ...(run.held.length > 0 ? { heldByMaintenance: run.held.length } : {}),
          },
          run.held.length > 0
            ? 'queued a scheduled run; devices in maintenance get it when their window ends'
            : 'queued a scheduled run',
        );
    } catch (error) {
      this.#failed('queuing scheduled runs', error);
    }
  }

  #startQueue(): void {
    const queue = this.#o.queue;
    if (!queue || this.#queueRun || this.signal.aborted) return;
    const read = this.#attempt('reading due actions', () => this.#o.store.due(queue.limit));
    // The rows a queue carries get their delivery intents here and go out with the next queue pass.
    const queued = this.#o.queued;
    const due =
      read && queued ? this.#attempt('handing actions to their queues', () => queued.take(read)) : read;
    if (!due || due.length === 0) return;
    const devices = new Map((this.#fleet?.devices ?? []).map((d) => [d.name, d]));
    const log = this.#o.log;
    this.#queueRun = runActions(toJobs(due, devices), {
      registry: queue.registry,
      credentials: queue.credentials,
      store: this.#o.store,
      concurrency: queue.concurrency,
      unstarted: 'leave',
      hooks: actionHooks(this.#o.db),
      signal: this.signal,
      onEvent: (event) => logAction(log, event),
      onNotice: (text) => log.warn({}, text),
    })
      .then((summary) => log.info({ ...summary }, `ran ${due.length} due actions`))
      .catch((error: unknown) => this.#failed('running due actions', error))
      .finally(() => {
        this.#queueRun = undefined;
      });
  }

  #startCycle(now: number): void {
    const cycle = this.#o.cycle;
    if (!cycle || this.#cycleRun || this.signal.aborted || now < this.#nextCycleAt || !this.#fleet) return;
    this.#nextCycleAt = now + cycle.intervalMs();
    this.#cycleRun = cycle
      .run(now, this.signal)
      .then((report) => {
        this.#nextCycleAt = report.startedAt + cycle.intervalMs();
        this.#o.log.info({ ...report }, 'monitoring cycle done');
        this.#attempt('recording the cycle', () =>
          this.#o.lease.recordCycle(this.#o.now(), { at: report.startedAt, ms: report.durationMs, report }),
        );
      })
      .catch((error: unknown) => this.#failed('a monitoring cycle', error))
      .finally(() => {
        this.#cycleRun = undefined;
      });
  }

  #deleteOldSamples(now: number): void {
    const retention = this.#o.retention;
    if (!retention || this.signal.aborted) return;
    const result = this.#attempt('deleting samples past retention', () => retention.run(now));
    if (result && result.deleted > 0)
      this.#o.log.info({ ...result }, `deleted ${result.deleted} samples past retention`);
  }

  #notify(now: number): void {
    const notifications = this.#o.notifications;
    if (!notifications || this.signal.aborted) return;
    this.#attempt('delivering notifications', () => notifications.tick(now));
  }

  /**
   * A read or write of the database; undefined when it failed (logged). Reads under WAL never wait
   * for a writer; a write another writer's lock refused is tried again on the next tick.
   */
  #attempt<T>(what: string, work: () => T): T | undefined {
    try {
      return work();
    } catch (error) {
      this.#failed(what, error);
      return undefined;
    }
  }

  #failed(what: string, error: unknown): void {
    if (isBusy(error) || (isRmmError(error) && error.code === 'locked')) {
      this.#o.log.warn(
        { waiting: what },
        `another writer holds the database's write lock while ${what}; trying again next tick`,
      );
      return;
    }
    this.failures++;
    const message = error instanceof Error ? error.message : String(error);
    this.#o.log.error({ during: what }, `failed while ${what}: ${message}`);
  }
}

function logAction(log: ServiceLog, event: ActionEvent): void {
  if (event.status === 'Running') return;
  const fields = { action: event.id, device: event.device, status: event.status, exitCode: event.exitCode };
  if (event.status === 'Succeeded') log.info(fields, `action ${event.status}`);
  else log.warn({ ...fields, error: event.error }, `action ${event.status}`);
}
