import { setTimeout as sleep } from 'node:timers/promises';
import { Flags } from '@oclif/core';
import { BUSY_RETRY_DELAYS_MS, isBusy, lockedBeforeRun } from '../actions/busy.js';
import { actionHooks } from '../actions/hooks.js';
import { openQueue } from '../actions/open-queue.js';
import { queuedTransports, queueKeyOf } from '../actions/queue-routing.js';
import { routeSightings } from '../actions/queue-status.js';
import { queueStore } from '../actions/queue-store.js';
import { isAlive } from '../actions/recover.js';
import { THIS_RUNNER } from '../actions/store.js';
import { resolveActor } from '../actor.js';
import { dataDirFlags, RmmCommand } from '../base-command.js';
import { serviceLogger } from '../cli/service-logger.js';
import { durationSeconds } from '../duration.js';
import { ExitCode, RmmError } from '../errors.js';
import { alertStore } from '../monitoring/alert-store.js';
import { METRICS, metricSpecs, VALUE_KINDS } from '../monitoring/catalogue.js';
import { metricStore } from '../monitoring/metric-store.js';
import { SessionPool } from '../monitoring/session-pool.js';
import { channelSender } from '../notify/channel-sender.js';
import { Deliverer } from '../notify/deliverer.js';
import { outboxStore } from '../notify/outbox-store.js';
import { oweToOutbox } from '../notify/owe.js';
import type { Fleet } from '../service/fleet.js';
import { CollectingCycle } from '../service/monitoring-cycle.js';
import { deviceHealth } from '../service/monitoring-sinks.js';
import { NotificationStep, routingOf, sendersOf } from '../service/notifications.js';
import { QueuedStep } from '../service/queued-step.js';
import { DEFAULT_RETENTION_DAYS, metricRetention } from '../service/retention.js';
import { scheduleRuns } from '../service/schedule-runs.js';
import { Service } from '../service/service.js';
import { type ServiceLease, serviceLease } from '../service/service-lease.js';
import { runLoop, timerWait } from '../service/service-loop.js';
import { storedAlertSink, storedSampleSink } from '../service/stored-sinks.js';
import { readQueueRoutes } from '../transports/queue-routes.js';
import { loadTransports } from '../transports/registry.js';

/** The signals that stop the service; a second one kills at once (the default action), as for rmm exec. */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export default class Serve extends RmmCommand {
  static override summary =
    "Run the console's service: the queue's due actions, the policies' schedules, and monitoring.";

  static override description = [
    "A long-running process, one per database. Every tick (--tick seconds) it refreshes its lease, rereads devices and policies when an rmm apply moved the state revision (no restart needed), queues the policies' schedules that are due (as rmm exec --at queues: Actions rows the queue then runs), runs the queue's due actions through the same runner as rmm actions run, and starts a monitoring cycle when one is due: every device is asked, on a session kept open, for what its effective monitors need; samples go to the Metrics table, alerts to the Alerts table (one row per alert, with its AuditLog row; a restart never raises an open one again), Devices.Status to Online or Offline, and a device unreachable for --offline-after raises one device-offline alert.",
    'An alert whose policy or monitor was removed is resolved at the next cycle (ResolvedBy "rmm serve (monitor removed)"). Samples older than --retention-days are deleted, at most once an hour, and so are notifications delivered, failed or expired that long ago (never a pending one).',
    "Each raise and resolve writes the notifications it owes to the AlertRoutes' channels in its own transaction (the outbox, table Notifications); a deliverer sends them beside the cycle, never inside it, retrying with backoff until they are delivered, refused for good, or past their maximum age (24h). A notification cut by SIGTERM or kill -9 is sent again after the restart with the same idempotency key. docs/notifications.md.",
    'Devices reached through a queue (a relay, or a queued transport of their own) are not run here: their due actions get a delivery intent and are submitted to the queue, and each tick, beside the cycle and never holding it up, one pass submits again what a stopped rmm left, collects the results the queues reported (Running, then an end, with the same AuditLog rows and inventory as direct runs) and ends Expired what stayed queued past its deadline. docs/queued-transports.md.',
    'A schedule runs at once the first time, then every `every` after its last run; runs missed while rmm serve was down run once, not once per missed interval; a restart never runs one again (ScheduleRuns).',
    "One rmm serve per database: a second one is refused (exit 3) naming the first's pid and host. One that was killed (kill -9, a crash) is taken over with a notice: at once on the same host, after 2 minutes of silence from another host. Actions a killed serve left Running end Failed on the next start, as for every runner.",
    'SIGTERM or Ctrl-C stops taking work, cancels the running actions (Cancelled; those not started stay Pending), cuts the notifications being sent (they stay Pending), closes the sessions, gives the lease back and exits 0; a second signal kills at once.',
    "Logs are JSON lines on stderr (pino), readable lines on a terminal. An rmm apply holding the database's write lock is waited out: logged, tried again the next tick.",
    "--once does everything due now (notifications whose grouping window has passed included), waits for it, and exits: for cron, CI and tests. Exit codes: 0 done (or stopped by a signal), 1 some work failed for a reason other than a device (see the log), 3 another rmm serve holds the database, 5 another writer held the database's write lock at start past every retry, 7 the data directory cannot be used, 64 bad flags.",
  ].join('\n\n');

  static override examples = [
    { description: 'Run the service (under systemd, say).', command: '<%= config.bin %> <%= command.id %>' },
    { description: 'Do what is due now, from cron.', command: '<%= config.bin %> <%= command.id %> --once' },
  ];

  static override flags = {
    ...dataDirFlags,
    once: Flags.boolean({ summary: 'Do everything that is due now, wait for it, and exit.' }),
    tick: Flags.integer({
      summary: 'Seconds between ticks: how soon due work is noticed.',
      default: 5,
      min: 1,
      max: 3600,
    }),
    concurrency: Flags.integer({
      char: 'c',
      summary: 'At most this many actions and device collections at once per transport.',
      default: 200,
      min: 1,
    }),
    'offline-after': Flags.string({
      summary: 'How long a device stays unreachable before its device-offline alert fires (30s, 5m, 1h).',
      default: '5m',
    }),
    'retention-days': Flags.integer({
      summary:
        'Days of samples kept in the Metrics table, and of finished notifications in the outbox; older ones are deleted, at most once an hour.',
      default: DEFAULT_RETENTION_DAYS,
      min: 1,
      max: 36_500,
    }),
    actor: Flags.string({
      summary:
        'Who runs the service, for Actions.CreatedBy and AuditLog (default: $RMM_ACTOR, else the OS user).',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    const offlineAfterS = durationSeconds(flags['offline-after']);
    if (offlineAfterS === undefined || offlineAfterS === 0)
      throw new RmmError(
        'usage',
        `--offline-after ${JSON.stringify(flags['offline-after'])}: not a duration`,
        {
          details: ['write it as 30s, 5m, 1h or 1h30m'],
        },
      );
    const log = serviceLogger();
    const actor = resolveActor(flags.actor);
    const { db, store, credentials, recovered } = openQueue(this.dataDir(flags), actor);
    let service: Service | undefined;
    const stop = (signal: string) => {
      log.info({ signal }, `${signal}: stopping`);
      void service?.stop(signal);
    };
    try {
      for (const r of recovered) log.warn({ action: r.id, device: r.device, status: r.status }, r.error);
      const lease = serviceLease(db, THIS_RUNNER, isAlive);
      const takenOver = await acquirePatiently(lease);
      if (takenOver) log.warn({}, `took the lease over: ${takenOver}`);
      const registry = await loadTransports(this.config, { compileSchemas: false });
      for (const line of registry.refused) log.warn({}, `refused: ${line}`);
      const now = () => Date.now();
      const pool = new SessionPool({
        transports: new Map([...registry.transports].map(([name, r]) => [name, r.transport])),
        credentials,
        now,
      });
      const health = deviceHealth(db);
      const metrics = metricStore(db, {
        units: new Map(METRICS.map((m) => [m.name, VALUE_KINDS[m.value].unit])),
      });
      const pause = (ms: number) => sleep(ms);
      const fleet = () => service?.fleet;
      const outbox = outboxStore(db);
      // The window a device is in (docs/maintenance.md): its alerts are marked and notify nobody.
      const maintenanceOf = (device: string, atMs: number) =>
        fleet()?.maintenance.maintenanceOf(device, atMs) ?? null;
      const alerts = alertStore(db, {
        now,
        maintenanceOf,
        owes: oweToOutbox(outbox, () => routingOf(fleet())),
      });
      const senderDeps = { policy: credentials, userAgent: `rmm/${this.config.version}` };
      const deliverer = new Deliverer({
        outbox,
        senderOf: sendersOf((name, f) => {
          const spec = f.channels.get(name);
          return spec && channelSender(name, spec, senderDeps);
        }, fleet),
        now,
        random: Math.random,
        log,
      });
      // Devices reached through a queue are not connected to: a relay's site is one the console
      // cannot reach (each would count unreachable and raise its device-offline alert), and a device
      // whose own transport is queued (an SMB share) has no session; its heartbeat is watched instead.
      const isQueued = queuedTransports(registry);
      const cycle = new CollectingCycle({
        pool,
        specs: metricSpecs(),
        plan: () => {
          const devices = service?.fleet?.devices ?? [];
          const own = queued.heartbeatsRead ? devices.filter((d) => isQueued(d.transport.type)) : [];
          const seen = own.length > 0 ? routeSightings(db) : new Map<string, number>();
          return {
            devices: devices.filter((d) => !queueKeyOf(d, isQueued)),
            monitors: service?.fleet?.monitors ?? new Map(),
            heartbeats: own.map((d) => ({
              device: d.name,
              lastSeenAt: seen.get(`${d.transport.type}/${d.name}`) ?? null,
            })),
          };
        },
        samples: storedSampleSink(metrics, { pause, log }),
        alerts: storedAlertSink(alerts, { pause, log, actor }),
        warm: (since, visit) => metrics.forEachSince(since, visit),
        reachability: (r) => health.record(r),
        now,
        offlineAfterMs: offlineAfterS * 1000,
        concurrency: flags.concurrency,
        onWarning: (device, message) => log.warn({ device }, message),
      });
      const queued = new QueuedStep({
        db,
        store,
        queue: queueStore(db, actor),
        registry,
        credentials,
        dataDir: this.dataDir(flags),
        hooks: actionHooks(db),
        devices: perFleet(fleet, (f) => new Map(f.devices.map((d) => [d.name, d])), new Map()),
        declared: perFleet(fleet, () => readQueueRoutes(db), new Map()),
        now,
        log,
      });
      service = new Service({
        db,
        store,
        lease,
        runs: scheduleRuns(db, store),
        now,
        log,
        queue: { registry, credentials, concurrency: flags.concurrency, limit: 10_000 },
        cycle,
        // A hundred chunks a tick at most: a backlog of old rows is deleted over several ticks.
        retention: metricRetention(metrics, { days: flags['retention-days'], maxChunks: 100 }),
        queued,
        notifications: new NotificationStep({
          db,
          outbox,
          alerts,
          deliverer,
          routing: () => routingOf(fleet()),
          maintenanceOf,
          log,
          keepDays: flags['retention-days'],
        }),
      });
      for (const signal of STOP_SIGNALS) process.once(signal, stop);
      log.info({ host: THIS_RUNNER.host, once: flags.once }, 'rmm serve started');
      const running = service;
      await runLoop({
        tick: () => running.tick(),
        wait: timerWait,
        tickMs: flags.tick * 1000,
        signal: running.signal,
        once: flags.once,
      });
      if (flags.once) await running.idle();
      await running.stop('done');
      log.info({ failures: running.failures }, 'rmm serve stopped');
      if (running.fatal) throw running.fatal;
      if (flags.once && running.failures > 0) process.exitCode = ExitCode.error;
    } finally {
      for (const signal of STOP_SIGNALS) process.off(signal, stop);
      db.close();
    }
  }
}

/** A value read once per fleet (per state revision): the fleet's devices by name, the declared relays. */
function perFleet<T>(fleet: () => Fleet | undefined, read: (fleet: Fleet) => T, none: T): () => T {
  let last: { fleet: Fleet; value: T } | undefined;
  return () => {
    const current = fleet();
    if (!current) return none;
    if (last?.fleet !== current) last = { fleet: current, value: read(current) };
    return last.value;
  };
}

/** Takes the lease, waiting out another writer's lock a bounded number of times. */
async function acquirePatiently(lease: ServiceLease): Promise<string | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      return lease.acquire(Date.now());
    } catch (error) {
      const delay = BUSY_RETRY_DELAYS_MS[attempt];
      if (!isBusy(error)) throw error;
      if (delay === undefined) throw lockedBeforeRun('while taking the service lease', error);
      await sleep(delay);
    }
  }
}
