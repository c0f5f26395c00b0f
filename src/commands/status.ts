import { isAlive } from '../actions/recover.js';
import { THIS_RUNNER } from '../actions/store.js';
import { dataDirFlags, outputFlags, outputFormat, RmmCommand } from '../base-command.js';
import { readStatus } from '../service/status.js';
import { openResourceDatabase } from '../state/resource-database.js';
import { statusLines } from '../views/service-status.js';

export default class Status extends RmmCommand {
  static override summary =
    'Is rmm serve running; its last cycle; devices online and offline; open alerts; notifications not delivered; relays and SMB device queues.';

  static override description = [
    'Reads the ServiceLease row: whether an rmm serve holds this database (pid, host, since, last heartbeat), or why not (stopped at a time, or stopped without a word: the next rmm serve takes over), and when its last monitoring cycle started and how long it took. Then the devices by Devices.Status (Online, Offline, Unknown), the open alerts (no ResolvedAt) by severity, and the notifications outbox: per channel how many are pending, failed (refused by the server) or expired (undelivered past the maximum age), and the last attempt that failed with what the server answered. Then each relay (queue route, docs/queued-transports.md): connected (a report or heartbeat collected within 90 s) or not, when it was last seen, its queue depth (actions Pending with a delivery intent, Delivered or Running through it) and the age of the oldest (`relays` in --json). Devices that are queues of their own (SMB shares) are summed per transport on one line: how many, how many seen within 90 s, their queue depth and oldest action, and the first ten not seen lately (`deviceQueues` in --json).',
    'Opens the database read-only. Exit codes: 0 shown (whether or not a serve runs), 1 no database or another error, 7 the data directory cannot be used.',
  ].join('\n\n');

  static override examples = [
    { description: 'The console at a glance.', command: '<%= config.bin %> <%= command.id %>' },
    { description: 'As JSON, for a health check.', command: '<%= config.bin %> <%= command.id %> --json' },
  ];

  static override flags = { ...dataDirFlags, ...outputFlags(['text', 'json'], 'text') };

  async run(): Promise<void> {
    const { flags } = await this.parse(Status);
    const { db } = openResourceDatabase(this.dataDir(flags), { readonly: true });
    let status: ReturnType<typeof readStatus>;
    try {
      status = readStatus(db, Date.now(), THIS_RUNNER, isAlive);
    } finally {
      db.close();
    }
    if (outputFormat(flags) === 'json') this.log(JSON.stringify(status, null, 2));
    else this.log(statusLines(status).join('\n'));
  }
}
