import { Flags } from '@oclif/core';
import { actionHooks } from '../../actions/hooks.js';
import { routeOpener } from '../../actions/queue-open.js';
import { deviceRouteKeys, queuedTransports } from '../../actions/queue-routing.js';
import { runQueueStep } from '../../actions/queue-step.js';
import { queueStore } from '../../actions/queue-store.js';
import { devicesByName } from '../../actions/targets.js';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { openRunnerQueue } from '../../cli/dispatch.js';
import { durationSeconds } from '../../duration.js';
import { RmmError } from '../../errors.js';
import { printable } from '../../printable.js';
import { readQueueRoutes } from '../../transports/queue-routes.js';
import { loadTransports } from '../../transports/registry.js';
import { writeStderr } from '../../views/output.js';

export default class ActionsCollect extends RmmCommand {
  static override summary = 'Collect the results relays reported, once: what rmm serve does each tick.';

  static override description = [
    'For every relay (queue route) declared or still holding actions, and every device with a queue of its own (an SMB share, read for its heartbeat too): submits again the actions a stopped rmm left with a delivery intent (same ActionId: the queue and the relay dedupe), records the reports waiting (started, finished, heartbeats) until none wait or --wait passes, and ends Expired the actions still queued 5 minutes past their deadline (withdrawn from the queue first). Each action that ends is printed. A report about an action that relay was never sent is refused, logged in AuditLog and dropped.',
    'Exit codes: 0 done (problems with a route are said on stderr), 1 an error, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'From cron, when rmm serve does not run.',
      command: '<%= config.bin %> <%= command.id %>',
    },
  ];

  static override flags = {
    ...dataDirFlags,
    wait: Flags.string({
      summary: "Wait up to this long for each route's first report (5s, 1m). Default 0s.",
    }),
    actor: Flags.string({ summary: 'Who collects, for AuditLog (default: $RMM_ACTOR, else the OS user).' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ActionsCollect);
    const wait = flags.wait === undefined ? 0 : durationSeconds(flags.wait);
    if (wait === undefined)
      throw new RmmError('usage', `--wait ${JSON.stringify(flags.wait)}: give a duration such as 5s or 1m`);
    const { db, store, credentials } = openRunnerQueue(this.dataDir(flags), flags.actor);
    const registry = await loadTransports(this.config, { compileSchemas: false });
    const declared = readQueueRoutes(db);
    let devices: ReturnType<typeof devicesByName> | undefined;
    const devicesNow = () => {
      devices ??= devicesByName(db);
      return devices;
    };
    const routes = routeOpener({
      registry,
      credentials,
      routes: declared,
      devices: devicesNow,
      dataDir: this.dataDir(flags),
      connectTimeoutMs: 15_000,
    });
    try {
      const step = await runQueueStep({
        db,
        store,
        queue: queueStore(db, store.actor),
        routes,
        hooks: actionHooks(db),
        devices: devicesNow,
        declared: [
          ...[...declared.values()].map((r) => ({ transport: r.transport, route: r.name })),
          ...deviceRouteKeys(devicesNow().values(), queuedTransports(registry)),
        ],
        now: Date.now,
        waitMs: wait * 1000,
        onEvent: (e) => {
          if (e.status === 'Running' || e.status === 'Delivered') return;
          const how = e.exitCode === undefined ? (e.error ?? '') : `exit ${e.exitCode}`;
          this.log(`${e.id} ${printable(e.device)}: ${e.status} (${printable(how)})`);
        },
        onNotice: (text) => writeStderr(text),
      });
      for (const problem of step.collected.problems) writeStderr(problem);
      this.log(
        `Collected ${step.collected.reports} report(s); submitted again ${step.resubmitted.delivered}; expired ${step.expired}.`,
      );
    } finally {
      await routes.closeAll();
      db.close();
    }
  }
}
