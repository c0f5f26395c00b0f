import { Flags } from '@oclif/core';
import { resolveActor } from '../../actor.js';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { alertIdsArg, byFlag } from '../../cli/alert-flags.js';
import { changeAlerts } from '../../monitoring/alert-changes.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { changedLines } from '../../views/alerts.js';

export default class AlertsAck extends RmmCommand {
  static override summary = 'Acknowledge open alerts: someone is on it.';

  static override description = [
    'Sets AcknowledgedAt and AcknowledgedBy and writes an AuditLog row (alert.acknowledge, with the note). The alert stays open until it is resolved; an acknowledged one is left as it was.',
    'Every id is checked first: one that names no alert, several alerts, or a resolved alert refuses the command and nothing is changed. Exit codes: 0 done, 1 refused (nothing changed), 5 the database stayed locked, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Two alerts, with a note.',
      command: '<%= config.bin %> <%= command.id %> 3f2a9c1e 77b0d4aa --note "disk cleanup running"',
    },
  ];

  static override strict = false;
  static override args = alertIdsArg;
  static override flags = {
    ...dataDirFlags,
    ...byFlag,
    note: Flags.string({ summary: 'Why, or what is being done: kept in the AuditLog row.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(AlertsAck);
    const by = resolveActor(flags.by);
    const { db } = openResourceDatabase(this.dataDir(flags));
    let changed: ReturnType<typeof changeAlerts>;
    try {
      const change = {
        kind: 'acknowledge',
        by,
        ...(flags.note === undefined ? {} : { note: flags.note }),
      } as const;
      changed = changeAlerts(db, argv as string[], change, Date.now);
    } finally {
      db.close();
    }
    this.log(changedLines(changed, 'acknowledged').join('\n'));
  }
}
