import { Flags } from '@oclif/core';
import { listActions } from '../../actions/queries.js';
import { ACTION_STATUSES, type ActionStatus } from '../../actions/store.js';
import { dataDirFlags, outputFlags, outputFormat, RmmCommand } from '../../base-command.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { actionSummary, actionTable } from '../../views/actions.js';

export default class ActionsList extends RmmCommand {
  static override summary = 'List queued and past actions, newest first.';

  static override description =
    'One line per Actions row: id, device, type, status, priority, when it is due, when it was created, and how it ended (exit code or error). rmm actions show ID gives everything, output included.';

  static override examples = [
    { description: 'The last 50 actions.', command: '<%= config.bin %> <%= command.id %>' },
    {
      description: 'What is still queued.',
      command: '<%= config.bin %> <%= command.id %> --status Pending',
    },
    {
      description: "One device's failures, as JSON.",
      command: '<%= config.bin %> <%= command.id %> --device web-01 --status Failed -o json',
    },
  ];

  static override flags = {
    ...dataDirFlags,
    status: Flags.string({
      char: 's',
      summary: 'Only actions in this status (any case). Repeat for several.',
      options: [...ACTION_STATUSES, ...ACTION_STATUSES.map((s) => s.toLowerCase())],
      multiple: true,
    }),
    device: Flags.string({ char: 'd', summary: "Only this device's actions." }),
    limit: Flags.integer({ char: 'n', summary: 'At most this many rows.', default: 50, min: 1 }),
    ...outputFlags(['table', 'json'], 'table'),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ActionsList);
    const statuses = flags.status?.map(
      (s) => ACTION_STATUSES.find((known) => known.toLowerCase() === s.toLowerCase()) as ActionStatus,
    );
    const { db } = openResourceDatabase(this.dataDir(flags), { readonly: true });
    let rows: ReturnType<typeof listActions>;
    try {
      rows = listActions(db, {
        limit: flags.limit,
        ...(statuses ? { statuses } : {}),
        ...(flags.device !== undefined ? { device: flags.device } : {}),
      });
    } finally {
      db.close();
    }
    if (outputFormat(flags) === 'json') this.log(JSON.stringify(rows.map(actionSummary), null, 2));
    else if (rows.length === 0) this.logToStderr('No actions.');
    else this.log(actionTable(rows));
  }
}
