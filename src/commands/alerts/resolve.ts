import { resolveActor } from '../../actor.js';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { alertIdsArg, byFlag } from '../../cli/alert-flags.js';
import { changeAlerts } from '../../monitoring/alert-changes.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { changedLines } from '../../views/alerts.js';

export default class AlertsResolve extends RmmCommand {
  static override summary = 'Resolve open alerts by hand.';

  static override description = [
    'Sets ResolvedAt and ResolvedBy (AutoResolved stays 0) and writes an AuditLog row (alert.resolve). For alerts whose monitor does not say autoResolve, or that you know are over. If the condition still holds, rmm serve raises a new alert.',
    'Every id is checked first: one that names no alert, several alerts, or an alert resolved already refuses the command and nothing is changed. Exit codes: 0 done, 1 refused (nothing changed), 5 the database stayed locked, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'One alert, by the start of its id.',
      command: '<%= config.bin %> <%= command.id %> 3f2a9c1e',
    },
  ];

  static override strict = false;
  static override args = alertIdsArg;
  static override flags = { ...dataDirFlags, ...byFlag };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(AlertsResolve);
    const by = resolveActor(flags.by);
    const { db } = openResourceDatabase(this.dataDir(flags));
    let changed: ReturnType<typeof changeAlerts>;
    try {
      changed = changeAlerts(db, argv as string[], { kind: 'resolve', by }, Date.now);
    } finally {
      db.close();
    }
    this.log(changedLines(changed, 'resolved').join('\n'));
  }
}
