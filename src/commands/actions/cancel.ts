import { Args, Flags } from '@oclif/core';
import { matchAction, matchProblem } from '../../actions/queries.js';
import { type RouteOpener, routeOpener } from '../../actions/queue-open.js';
import { type QueueStore, queueStore } from '../../actions/queue-store.js';
import { actionStore } from '../../actions/store.js';
import { devicesByName } from '../../actions/targets.js';
import { resolveActor } from '../../actor.js';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { credentialPolicy } from '../../credentials/policy.js';
import { ExitCode } from '../../errors.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { readQueueRoutes } from '../../transports/queue-routes.js';
import { loadTransports } from '../../transports/registry.js';

export default class ActionsCancel extends RmmCommand {
  static override summary = 'Cancel queued actions before they run.';

  static override description = [
    'Only a Pending action can be cancelled: it becomes Cancelled, with an AuditLog row, and no runner will start it. One that is Running or has ended is refused, with its status; stop a running one with Ctrl-C in the rmm that runs it.',
    "A Delivered action (queued at a relay, not started) is withdrawn from the relay's queue, then Cancelled. If the relay took it already (too-late) or the queue cannot tell (unknown), the action is left as it is and may still run: the command says so. A Pending action that is being submitted to a relay may be queued already and is refused the same way.",
    'Exit codes: 0 every action was cancelled, 1 some were refused (the others are still cancelled), 64 bad arguments.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Two queued actions, by the start of their ids.',
      command: '<%= config.bin %> <%= command.id %> 3f2a9c1e 77b0d4aa',
    },
  ];

  static override strict = false;

  static override args = {
    id: Args.string({
      description: 'Action ids (rmm actions list), or unique starts of them.',
      required: true,
    }),
  };

  static override flags = {
    ...dataDirFlags,
    actor: Flags.string({
      summary: 'Who cancels, for AuditLog (default: $RMM_ACTOR, else the OS user).',
    }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ActionsCancel);
    const actor = resolveActor(flags.actor);
    const { db } = openResourceDatabase(this.dataDir(flags));
    let refused = 0;
    const registry = await loadTransports(this.config, { compileSchemas: false });
    let devices: ReturnType<typeof devicesByName> | undefined;
    const routes = routeOpener({
      registry,
      credentials: credentialPolicy(this.dataDir(flags)),
      routes: readQueueRoutes(db),
      devices: () => {
        devices ??= devicesByName(db);
        return devices;
      },
      dataDir: this.dataDir(flags),
      connectTimeoutMs: 15_000,
    });
    try {
      const store = actionStore(db, actor);
      const queued = queueStore(db, actor);
      for (const id of argv as string[]) {
        const rows = matchAction(db, id);
        const row = rows[0];
        const problem = matchProblem(id, rows);
        if (problem || !row) {
          this.logToStderr(`Refused: ${problem}`);
          refused++;
          continue;
        }
        const device = row.DeviceId ?? '';
        if (
          store.cancelPending(
            row.ActionId,
            device,
            row.ActionType,
            `cancelled by ${actor} (rmm actions cancel)`,
          )
        ) {
          this.log(`Cancelled ${row.ActionId} (${row.ActionType} on ${device})`);
          continue;
        }
        if (row.Status === 'Delivered' || queued.row(row.ActionId)) {
          const outcome = await withdraw(queued, routes, row.ActionId, actor);
          if (outcome === 'withdrawn') {
            this.log(
              `Cancelled ${row.ActionId} (${row.ActionType} on ${device}): withdrawn from its relay's queue`,
            );
            continue;
          }
          this.logToStderr(
            `Refused: ${row.ActionId} (${row.ActionType} on ${device}): ${outcome}; it may still run`,
          );
          refused++;
          continue;
        }
        // Read again: it may have started between the lookup and the cancel.
        const now = store.statusOf(row.ActionId) ?? row.Status;
        this.logToStderr(
          `Refused: ${row.ActionId} (${row.ActionType} on ${device}) is ${now}; only Pending actions can be cancelled`,
        );
        refused++;
      }
    } finally {
      await routes.closeAll();
      db.close();
    }
    if (refused > 0) process.exitCode = ExitCode.error;
  }
}

/** Withdraws a queued action through its route: 'withdrawn' (now Cancelled) or why it may still run. */
async function withdraw(queue: QueueStore, routes: RouteOpener, id: string, actor: string): Promise<string> {
  const row = queue.row(id);
  if (!row) return 'it is not queued';
  const where = `${row.Transport}/${row.Route}`;
  if (row.Status !== 'Delivered' || row.Receipt === null)
    return `it is ${row.Status} through ${where} and may be in its queue already; only a Delivered action can be withdrawn`;
  const route = await routes.open({ transport: row.Transport, route: row.Route });
  if ('problem' in route) return `cannot reach its queue (${route.problem})`;
  if (!route.connection.cancel) return `the ${row.Transport} transport cannot withdraw actions`;
  const answer = await route.connection.cancel(id, row.Receipt).catch(() => 'unknown' as const);
  if (answer === 'too-late') return `${where} has taken it already (too-late)`;
  if (answer === 'unknown') return `${where} could not tell whether it was withdrawn (unknown)`;
  return queue.endUnstarted(
    row,
    'Cancelled',
    `cancelled by ${actor} (rmm actions cancel): withdrawn from ${where}`,
  )
    ? 'withdrawn'
    : `it ended meanwhile as ${queue.row(id)?.Status}`;
}
