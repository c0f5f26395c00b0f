import { Flags } from '@oclif/core';
import { resolveActor } from '../../actor.js';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { alertIdsArg, byFlag } from '../../cli/alert-flags.js';
import { changeAlerts } from '../../monitoring/alert-changes.js';
import { parseUntil } from '../../monitoring/snooze-until.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { changedLines } from '../../views/alerts.js';

export default class AlertsSnooze extends RmmCommand {
  static override summary = 'Silence open alerts until a time, without resolving them.';

  static override description = [
    'Sets SnoozedUntil (UTC, to the second) and writes an AuditLog row (alert.snooze). The alert stays open; rmm alerts list shows it as snoozed until then.',
    '--until takes a duration from now (30m, 2h, 1h30m, 7d) or a time as rmm exec --at takes it (2026-11-27T03:00:00Z; without an offset, local time); it must be in the future.',
    'Every id is checked first: one that names no alert, several alerts, or a resolved alert refuses the command and nothing is changed. Exit codes: 0 done, 1 refused (nothing changed), 5 the database stayed locked, 64 bad flags or a time in the past.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Two hours of quiet.',
      command: '<%= config.bin %> <%= command.id %> 3f2a9c1e --until 2h',
    },
    {
      description: 'Until the maintenance window ends.',
      command: '<%= config.bin %> <%= command.id %> 3f2a9c1e 77b0d4aa --until 2026-11-27T06:00:00Z',
    },
  ];

  static override strict = false;
  static override args = alertIdsArg;
  static override flags = {
    ...dataDirFlags,
    ...byFlag,
    until: Flags.string({ summary: 'A duration (2h) or a time in the future (ISO 8601).', required: true }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(AlertsSnooze);
    const by = resolveActor(flags.by);
    const until = parseUntil(flags.until, Date.now());
    const { db } = openResourceDatabase(this.dataDir(flags));
    let changed: ReturnType<typeof changeAlerts>;
    try {
      changed = changeAlerts(db, argv as string[], { kind: 'snooze', by, until }, Date.now);
    } finally {
      db.close();
    }
    const when = new Date(until).toISOString().slice(0, 19);
    this.log(changedLines(changed, `snoozed until ${when}Z`).join('\n'));
  }
}
