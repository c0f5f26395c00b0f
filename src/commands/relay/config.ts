import { Flags } from '@oclif/core';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { natsGrants, renderNatsAuthorization } from '../../transports/nats-authorization.js';
import { readQueueRoutes } from '../../transports/queue-routes.js';
import { authorizationInput } from '../../transports/relay-authorization-input.js';
import { natsAuthorizationFile } from '../../views/nats-authorization.js';

export default class RelayConfig extends RmmCommand {
  static override summary =
    "Print the nats-server authorization for the declared relays: each relay reaches only its own site's queue.";

  static override description = [
    "Prints an `authorization { users = [...] }` block for nats-server.conf, from the Relays stored in the database (rmm apply them first): the console's NATS user (the Relays' spec.nats.user, default rmm-console) may create rmm's JetStream streams and consumers, queue work for any relay, withdraw it, and collect reports; each relay's user (its name) may only pull its own work, ack it, and publish its own reports, so one relay's credentials read no other site's work.",
    "No password is in the output: each user's password is a nats-server environment variable, RMM_NATS_CONSOLE_PASSWORD for the console and RMM_NATS_<RELAY>_PASSWORD for each relay (relay-alpha: RMM_NATS_RELAY_ALPHA_PASSWORD), set where nats-server runs. The console reads its password through the Relay's credentialRef; each relay agent through its own --creds.",
    'Include the output in nats-server.conf (`include ./rmm-authorization.conf`) and reload nats-server after each Relay you add or remove. docs/relay-nats.md has a complete nats-server.conf with JetStream and TLS.',
    "Exit codes: 0 printed; 1 no database (rmm init), no Relay declared, Relays that name different console users (pick one with --console-user), or a console user that is also a relay's name; 7 a data directory that cannot be used.",
  ].join('\n\n');

  static override examples = [
    {
      description: 'Write the authorization next to nats-server.conf.',
      command: '<%= config.bin %> <%= command.id %> > /etc/nats/rmm-authorization.conf',
    },
    {
      description: 'Another name for the console user.',
      command: '<%= config.bin %> <%= command.id %> --console-user console-eu',
    },
  ];

  static override flags = {
    ...dataDirFlags,
    'console-user': Flags.string({
      summary: "The console's NATS user (default: the Relays' spec.nats.user, else rmm-console).",
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(RelayConfig);
    const { db } = openResourceDatabase(this.dataDir(flags), { readonly: true });
    let routes: ReturnType<typeof readQueueRoutes>;
    try {
      routes = readQueueRoutes(db);
    } finally {
      db.close();
    }
    const grants = natsGrants(authorizationInput(routes, flags['console-user']));
    this.log(natsAuthorizationFile(grants, renderNatsAuthorization(grants)));
  }
}
