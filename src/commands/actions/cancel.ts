import { Args, Flags } from '@oclif/core';
import { matchAction, matchProblem } from '../../actions/queries.js';
import { actionStore } from '../../actions/store.js';
import { resolveActor } from '../../actor.js';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { ExitCode } from '../../errors.js';
import { openResourceDatabase } from '../../state/resource-database.js';

export default class ActionsCancel extends RmmCommand {
  static override summary = 'Cancel queued actions before they run.';

  static override description = [
    'Only a Pending action can be cancelled: it becomes Cancelled, with an AuditLog row, and no runner will start it. One that is Running or has ended is refused, with its status; stop a running one with Ctrl-C in the rmm that runs it.',
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
    try {
      const store = actionStore(db, actor);
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
        // Read again: it may have started between the lookup and the cancel.
        const now = store.statusOf(row.ActionId) ?? row.Status;
        this.logToStderr(
          `Refused: ${row.ActionId} (${row.ActionType} on ${device}) is ${now}; only Pending actions can be cancelled`,
        );
        refused++;
      }
    } finally {
      db.close();
    }
    if (refused > 0) process.exitCode = ExitCode.error;
  }
}
