import { type RouteOpener, routeOpener } from '../actions/queue-open.js';
import {
  deviceRouteKeys,
  type IsQueued,
  queuedTransports,
  queueKeyOf,
  routeConfigOf,
} from '../actions/queue-routing.js';
import { runQueueStep } from '../actions/queue-step.js';
import type { QueueStore } from '../actions/queue-store.js';
import { type QueuedSubmission, submitQueued } from '../actions/queue-submit.js';
import type { ActionEvent, ActionHooks } from '../actions/runner.js';
import type { ActionRow, ActionStore } from '../actions/store.js';
import type { DeviceRecord } from '../actions/targets.js';
import type { CredentialPolicy } from '../credentials/policy.js';
import type { Db } from '../state/connection.js';
import { DEFAULT_ACTION_EXPIRY_SECONDS, type QueueRouteConfig } from '../transports/queue-routes.js';
import type { TransportRegistry } from '../transports/registry.js';
import type { ServiceLog } from './service-log.js';

/**
 * rmm serve's step for queued transports (relays, device queues), beside the monitoring cycle. The
 * service hands it the due actions whose devices a queue carries (take: their delivery intents are
 * written at once, so no runner takes them directly); each tick then starts one pass, unless one is
 * still going: submit those, submit again the intents nobody holds, collect every route's reports,
 * expire the overdue (actions/queue-step.ts, as rmm actions collect). A pass runs in the background:
 * a route that hangs never delays a tick, the cycle or the direct runs. Every part of a pass is
 * bounded (queue-collect.ts, queue-step.ts).
 */
export interface QueuedStepOptions {
  db: Db;
  store: ActionStore;
  queue: QueueStore;
  registry: TransportRegistry;
  credentials: CredentialPolicy;
  /** The console's data directory: transports' stateDirs are made under it. */
  dataDir: string;
  hooks: ActionHooks;
  /** The devices by name, as the service read them last. */
  devices: () => ReadonlyMap<string, DeviceRecord>;
  /** The declared routes (Relays); a new map (after an apply) reopens the routes. */
  declared: () => ReadonlyMap<string, QueueRouteConfig>;
  now: () => number;
  log: ServiceLog;
  connectTimeoutMs?: number;
}

/** The same warning (a route that cannot be opened) is logged at most this often. */
export const REPEAT_WARNING_MS = 60_000;

/**
 * Device routes with nothing of ours waiting are read this often, for their heartbeat (an SMB
 * consumer rewrites it once a minute): not each tick, which would be one smbclient per device.
 */
export const DEVICE_HEARTBEAT_MS = 60_000;

export class QueuedStep {
  readonly #o: QueuedStepOptions;
  readonly #isQueued: IsQueued;
  #fresh: QueuedSubmission[] = [];
  #run: Promise<void> | undefined;
  #routes: { opener: RouteOpener; declared: ReadonlyMap<string, QueueRouteConfig> } | undefined;
  /** When each warning was last logged: a route down for an hour is said once a minute, not each tick. */
  readonly #warned = new Map<string, number>();
  /** When the idle device routes were last read (DEVICE_HEARTBEAT_MS). */
  #devicesReadAt: number | undefined;
  #heartbeatsRead = false;

  constructor(options: QueuedStepOptions) {
    this.#o = options;
    this.#isQueued = queuedTransports(options.registry);
  }

  /**
   * Takes the due rows a queue carries: their intents written now (one transaction; a database
   * error throws, for the service to log), their submission left to the next pass. Returns the
   * others, for the direct runner.
   */
  take(rows: readonly ActionRow[]): ActionRow[] {
    const direct: ActionRow[] = [];
    const taken: QueuedSubmission[] = [];
    const declared = this.#o.declared();
    const devices = this.#o.devices();
    const now = this.#o.now();
    for (const row of rows) {
      const device = devices.get(row.DeviceId ?? '');
      const key = queueKeyOf(device, this.#isQueued);
      if (!key) {
        direct.push(row);
        continue;
      }
      const seconds =
        routeConfigOf(key, declared, this.#o.devices)?.expirySeconds ?? DEFAULT_ACTION_EXPIRY_SECONDS;
      taken.push({ row, device, key, expiresAt: new Date(now + seconds * 1000).toISOString() });
    }
    if (taken.length > 0) {
      this.#o.queue.recordIntents(
        taken.map((s) => ({ actionId: s.row.ActionId, key: s.key, expiresAt: s.expiresAt })),
      );
      this.#fresh.push(...taken);
    }
    return direct;
  }

  /**
   * Whether a pass of this process has read the device routes' heartbeats: before, QueueRoutes holds
   * what an earlier run saw, and judging a device by it would set it Offline at each start.
   */
  get heartbeatsRead(): boolean {
    return this.#heartbeatsRead;
  }

  /** Starts a pass unless one is going. */
  tick(signal: AbortSignal): void {
    if (this.#run || signal.aborted) return;
    this.#run = this.#pass(signal)
      .catch((error: unknown) =>
        this.#o.log.error(
          { during: 'a queue pass' },
          `failed while collecting from queued transports: ${(error as Error).message}`,
        ),
      )
      .finally(() => {
        this.#run = undefined;
      });
  }

  /** Waits for the pass in flight (rmm serve --once). */
  async idle(): Promise<void> {
    await this.#run;
  }

  /** Waits for the pass in flight (cut short by the service's signal) and closes the routes. */
  async stop(): Promise<void> {
    await this.#run;
    await this.#routes?.opener.closeAll();
    this.#routes = undefined;
  }

  async #pass(signal: AbortSignal): Promise<void> {
    const { opener: routes, declared } = await this.#opener();
    const log = this.#o.log;
    const deviceRoutes = this.#deviceRoutesDue();
    const context = {
      ...this.#o,
      routes,
      signal,
      declared: [
        ...[...declared.values()].map((r) => ({ transport: r.transport, route: r.name })),
        ...deviceRoutes,
      ],
      onEvent: (event: ActionEvent) => logQueuedAction(log, event),
      onNotice: (text: string) => this.#warn(text),
    };
    const fresh = this.#fresh.splice(0);
    if (fresh.length > 0) {
      const submitted = await submitQueued(fresh, context);
      log.info({ ...submitted }, `submitted ${fresh.length} due actions to their queues`);
    }
    const step = await runQueueStep(context);
    if (deviceRoutes.length > 0 && !signal.aborted) this.#heartbeatsRead = true;
    for (const problem of step.collected.problems) this.#warn(problem);
    const { resubmitted, collected, expired } = step;
    if (resubmitted.delivered + resubmitted.failed + collected.reports + expired > 0)
      log.info(
        { reports: collected.reports, resubmitted: resubmitted.delivered, expired },
        `collected ${collected.reports} reports from queued transports`,
      );
  }

  #deviceRoutesDue() {
    const now = this.#o.now();
    if (this.#devicesReadAt !== undefined && now - this.#devicesReadAt < DEVICE_HEARTBEAT_MS) return [];
    this.#devicesReadAt = now;
    return deviceRouteKeys(this.#o.devices().values(), this.#isQueued);
  }

  #warn(text: string): void {
    const now = this.#o.now();
    const last = this.#warned.get(text);
    if (last !== undefined && now - last < REPEAT_WARNING_MS) return;
    if (this.#warned.size >= 1000) this.#warned.clear();
    this.#warned.set(text, now);
    this.#o.log.warn({}, text);
  }

  /** One opener per set of declared routes: an apply that changed a relay reopens its queue. */
  async #opener(): Promise<{ opener: RouteOpener; declared: ReadonlyMap<string, QueueRouteConfig> }> {
    const declared = this.#o.declared();
    if (this.#routes?.declared === declared) return this.#routes;
    await this.#routes?.opener.closeAll();
    const opener = routeOpener({
      registry: this.#o.registry,
      credentials: this.#o.credentials,
      routes: declared,
      devices: this.#o.devices,
      dataDir: this.#o.dataDir,
      connectTimeoutMs: this.#o.connectTimeoutMs ?? 15_000,
    });
    this.#routes = { opener, declared };
    return this.#routes;
  }
}

/** An action's change as a log line: Delivered and Running are info, an end other than Succeeded a warning. */
export function logQueuedAction(log: ServiceLog, event: ActionEvent): void {
  const fields = { action: event.id, device: event.device, status: event.status, exitCode: event.exitCode };
  if (['Delivered', 'Running', 'Succeeded'].includes(event.status))
    log.info(fields, `action ${event.status}`);
  else log.warn({ ...fields, error: event.error }, `action ${event.status}`);
}
