import { Flags } from '@oclif/core';
import { listAudit } from '../audit/queries.js';
import { parseSince } from '../audit/since.js';
import { dataDirFlags, outputFlags, outputFormat, RmmCommand } from '../base-command.js';
import { openResourceDatabase } from '../state/resource-database.js';
import { auditJson, auditTable } from '../views/audit.js';

/** At most this many rows in one answer: a bigger look goes through --since and --target. */
const MAX_LIMIT = 10_000;

export default class Audit extends RmmCommand {
  static override summary = 'Show the audit trail: who changed what, and when (AuditLog).';

  static override description = [
    'One line per AuditLog row, newest last: applies (apply.create, apply.update, apply.delete of each resource), schema migrations (db.migrate), and every action that ended (action.exec, action.inventory on Device/NAME), with the user, whether it succeeded, and its details.',
    `At most --limit rows (default 100, at most ${MAX_LIMIT}): the newest that match. When more match, stderr says how many, so narrow with --since and --target.`,
    '--since takes a duration back from now (30m, 12h, 7d, 2w), a date (from its midnight), or a time (ISO 8601, as rmm exec --at; without an offset, local time). --target takes KIND/NAME, or a glob of it (* any run of characters, ? one), case-sensitive.',
    'Opens the database read-only, so it works for an auditor who may read the database but not write it.',
    'Exit codes: 0 shown (also when nothing matched), 1 no database or another error, 64 bad flags (a duration or time that does not parse).',
  ].join('\n\n');

  static override examples = [
    { description: 'The last 100 changes.', command: '<%= config.bin %> <%= command.id %>' },
    {
      description: 'What happened to one device in the last week.',
      command: '<%= config.bin %> <%= command.id %> --since 7d --target Device/alpha-web-01',
    },
    {
      description: 'Every site change since a date, as JSON.',
      command: "<%= config.bin %> <%= command.id %> --since 2026-11-01T00:00:00Z --target 'Site/*' --json",
    },
  ];

  static override flags = {
    ...dataDirFlags,
    since: Flags.string({
      summary: 'Only rows since a duration back (30m, 12h, 7d, 2w) or a time (ISO 8601).',
    }),
    target: Flags.string({
      char: 't',
      summary: 'Only rows about KIND/NAME, or a glob of it (Device/alpha-*).',
    }),
    limit: Flags.integer({
      char: 'n',
      summary: `At most this many rows, the newest (at most ${MAX_LIMIT}).`,
      default: 100,
      min: 1,
      max: MAX_LIMIT,
    }),
    ...outputFlags(['table', 'json'], 'table'),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Audit);
    const since = flags.since === undefined ? undefined : parseSince(flags.since, new Date());
    const { db } = openResourceDatabase(this.dataDir(flags), { readonly: true });
    let found: ReturnType<typeof listAudit>;
    try {
      found = listAudit(db, {
        limit: flags.limit,
        ...(since !== undefined ? { since } : {}),
        ...(flags.target !== undefined ? { target: flags.target } : {}),
      });
    } finally {
      db.close();
    }
    const { rows, matched } = found;
    if (matched > rows.length)
      this.logToStderr(
        `Showing the newest ${rows.length} of ${matched} matching rows; narrow with --since or --target, or raise --limit.`,
      );
    if (outputFormat(flags) === 'json') this.log(JSON.stringify(rows.map(auditJson), null, 2));
    else if (rows.length === 0) this.logToStderr('No audit rows match.');
    else this.log(auditTable(rows));
  }
}
