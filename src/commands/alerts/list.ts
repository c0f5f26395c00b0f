import { Flags } from '@oclif/core';
import { selectDevices } from '../../actions/targets.js';
import { dataDirFlags, outputFlags, outputFormat, RmmCommand } from '../../base-command.js';
import { ALERT_STATES, type AlertState, listAlerts, SEVERITIES } from '../../monitoring/alert-queries.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { alertJson, alertTable, morePage } from '../../views/alerts.js';

export default class AlertsList extends RmmCommand {
  static override summary = 'List alerts, newest first: open ones unless told otherwise.';

  static override description = [
    'One line per Alerts row: the start of its id, when it was raised (UTC), severity, state, device, source (policy/monitor, or rmm/device-offline), instance (mount=/) and title.',
    'States: open is every alert not resolved (acknowledged and snoozed ones included, as rmm status counts them); acknowledged is the open ones someone acknowledged; resolved the closed ones. A page holds --limit alerts (default 100); when more match, a line on stderr says how many.',
    'Opens the database read-only. Exit codes: 0 listed (none is not an error), 1 no device matches --target, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    { description: 'What is open now.', command: '<%= config.bin %> <%= command.id %>' },
    {
      description: "Critical alerts of site alpha's web servers.",
      command: '<%= config.bin %> <%= command.id %> -t site=alpha,group=web --severity Critical',
    },
    {
      description: 'The last 20 resolved, as JSON.',
      command: '<%= config.bin %> <%= command.id %> --state resolved -n 20 --json',
    },
  ];

  static override flags = {
    ...dataDirFlags,
    target: Flags.string({
      char: 't',
      summary:
        'Only alerts of these devices: name=, site=, group=, label.KEY= (as rmm exec -t). Repeat to add.',
      multiple: true,
    }),
    severity: Flags.string({
      summary: 'Only this severity (any case). Repeat for several.',
      options: [...SEVERITIES, ...SEVERITIES.map((s) => s.toLowerCase())],
      multiple: true,
    }),
    state: Flags.string({
      summary: 'open (not resolved), acknowledged (open and acknowledged) or resolved.',
      options: [...ALERT_STATES],
      default: 'open',
    }),
    limit: Flags.integer({
      char: 'n',
      summary: 'At most this many alerts.',
      default: 100,
      min: 1,
      max: 10_000,
    }),
    ...outputFlags(['table', 'json'], 'table'),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(AlertsList);
    const severities = flags.severity?.map(
      (s) => SEVERITIES.find((known) => known.toLowerCase() === s.toLowerCase()) as string,
    );
    const { db } = openResourceDatabase(this.dataDir(flags), { readonly: true });
    let page: ReturnType<typeof listAlerts>;
    try {
      const devices = flags.target ? selectDevices(db, flags.target).map((d) => d.name) : undefined;
      page = listAlerts(db, {
        state: flags.state as AlertState,
        limit: flags.limit,
        ...(devices ? { devices } : {}),
        ...(severities ? { severities } : {}),
      });
    } finally {
      db.close();
    }
    const now = Date.now();
    if (outputFormat(flags) === 'json') this.log(JSON.stringify(page.alerts.map(alertJson), null, 2));
    else if (page.alerts.length === 0) this.logToStderr(`No ${flags.state} alerts.`);
    else this.log(alertTable(page.alerts, now));
    const more = morePage(page.alerts.length, page.total);
    if (more) this.logToStderr(more);
  }
}
