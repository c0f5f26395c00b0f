import { Args } from '@oclif/core';
import { leaseOf, matchAction, matchProblem } from '../../actions/queries.js';
import { dataDirFlags, outputFlags, outputFormat, RmmCommand } from '../../base-command.js';
import { RmmError } from '../../errors.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { actionDetail, actionText } from '../../views/actions.js';

export default class ActionsShow extends RmmCommand {
  static override summary = 'Show one action: its command, status, timings and full result.';

  static override description =
    'The result holds the exit code, stdout and stderr (the first 64 KiB of each, and how much more there was), the error if it did not run to the end, and its duration; a Running action also shows which runner holds it.';

  static override examples = [
    {
      description: 'By id, or by the start of it.',
      command: '<%= config.bin %> <%= command.id %> 3f2a9c1e',
    },
  ];

  static override args = {
    id: Args.string({
      description: 'The action id (rmm actions list), or a unique start of it.',
      required: true,
    }),
  };

  static override flags = {
    ...dataDirFlags,
    ...outputFlags(['text', 'json'], 'text'),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ActionsShow);
    const { db } = openResourceDatabase(this.dataDir(flags), { readonly: true });
    let detail: ReturnType<typeof actionDetail>;
    try {
      const rows = matchAction(db, args.id);
      const problem = matchProblem(args.id, rows);
      const row = rows[0];
      if (problem || !row) throw new RmmError(rows.length > 1 ? 'usage' : 'not-found', problem ?? '');
      detail = actionDetail(row, leaseOf(db, row.ActionId));
    } finally {
      db.close();
    }
    if (outputFormat(flags) === 'json') this.log(JSON.stringify(detail, null, 2));
    else this.log(actionText(detail));
  }
}
