import { Args } from '@oclif/core';
import { dataDirFlags, outputFlags, outputFormat, RmmCommand } from '../../base-command.js';
import { RmmError } from '../../errors.js';
import { alertHistory, alertMatchProblem, matchAlerts } from '../../monitoring/alert-queries.js';
import { notificationsOfAlert } from '../../notify/outbox-queries.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { alertJson, alertText } from '../../views/alerts.js';
import { notificationJson, notificationLines } from '../../views/notifications.js';

export default class AlertsShow extends RmmCommand {
  static override summary = 'Show one alert: every field, and what happened to it.';

  static override description = [
    'Every column of the Alerts row (NotificationsSent as stored; Maintenance, the window it was raised or resolved in), the notifications that carry it (the outbox: channel, event, status, attempts, when it goes next or went, and what the server last answered), and its AuditLog rows oldest first: raised, acknowledged (with the note), snoozed, resolved.',
    'Opens the database read-only. Exit codes: 0 shown, 1 no such alert, 64 an id that starts several alerts, or bad flags.',
  ].join('\n\n');

  static override examples = [
    { description: 'By id, or by the start of it.', command: '<%= config.bin %> <%= command.id %> 3f2a9c1e' },
  ];

  static override args = {
    id: Args.string({
      description: 'The alert id (rmm alerts list), or a unique start of it.',
      required: true,
    }),
  };

  static override flags = { ...dataDirFlags, ...outputFlags(['text', 'json'], 'text') };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(AlertsShow);
    const { db } = openResourceDatabase(this.dataDir(flags), { readonly: true });
    let shown: {
      alert: NonNullable<ReturnType<typeof matchAlerts>[number]>;
      history: ReturnType<typeof alertHistory>;
      notifications: ReturnType<typeof notificationsOfAlert>;
    };
    try {
      const matches = matchAlerts(db, args.id);
      const problem = alertMatchProblem(args.id, matches);
      const alert = matches[0];
      if (problem || !alert) throw new RmmError(matches.length > 1 ? 'usage' : 'not-found', problem ?? '');
      shown = {
        alert,
        history: alertHistory(db, alert.id),
        notifications: notificationsOfAlert(db, alert.id),
      };
    } finally {
      db.close();
    }
    if (outputFormat(flags) === 'json')
      this.log(
        JSON.stringify(
          {
            ...alertJson(shown.alert),
            notifications: shown.notifications.map(notificationJson),
            history: shown.history,
          },
          null,
          2,
        ),
      );
    else this.log(alertText(shown.alert, shown.history, Date.now(), notificationLines(shown.notifications)));
  }
}
