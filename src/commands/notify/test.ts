import { Args } from '@oclif/core';
import { dataDirFlags, outputFlags, outputFormat, RmmCommand } from '../../base-command.js';
import { credentialPolicy } from '../../credentials/policy.js';
import { ExitCode } from '../../errors.js';
import { readStoredNotifications } from '../../notify/stored-channels.js';
import { sendTestNotification } from '../../notify/test-notification.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { testOutcomeText } from '../../views/notify-test.js';

export default class NotifyTest extends RmmCommand {
  static override summary =
    'Send a test message over a notification channel and show what the server answered.';

  static override description = [
    'Reads the applied NotificationChannel from the database, resolves its secrets (the webhook URL, the SMTP password) through the credential allow-list as rmm serve does, and sends one message that says it is a test (event "test", no alerts, a fresh id: the Idempotency-Key header or the Message-ID <id@rmm>). Prints exactly what the server answered; the URL and the password are never shown.',
    'Exit codes: 0 delivered; 1 not delivered (the answer says why: an HTTP or SMTP status, a timeout, a refused connection, an unset reference), or no such channel (with a did-you-mean).',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Check the on-call mailbox is reachable.',
      command: '<%= config.bin %> <%= command.id %> oncall-mail',
    },
    { description: 'As JSON.', command: '<%= config.bin %> <%= command.id %> ops-slack --json' },
  ];

  static override args = {
    channel: Args.string({ description: 'The NotificationChannel (rmm get channels).', required: true }),
  };

  static override flags = { ...dataDirFlags, ...outputFlags(['text', 'json'], 'text') };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NotifyTest);
    const dataDir = this.dataDir(flags);
    const { db } = openResourceDatabase(dataDir, { readonly: true });
    let channels: ReturnType<typeof readStoredNotifications>['channels'];
    try {
      channels = readStoredNotifications(db).channels;
    } finally {
      db.close();
    }
    const controller = new AbortController();
    const abort = () => controller.abort();
    process.once('SIGINT', abort);
    try {
      const outcome = await sendTestNotification(channels, args.channel, {
        policy: credentialPolicy(dataDir),
        userAgent: `rmm/${this.config.version}`,
        now: Date.now(),
        signal: controller.signal,
      });
      if (outputFormat(flags) === 'json') this.log(JSON.stringify(outcome, null, 2));
      else this.log(testOutcomeText(outcome));
      if (outcome.outcome !== 'delivered') process.exitCode = ExitCode.error;
    } finally {
      process.off('SIGINT', abort);
    }
  }
}
