import path from 'node:path';
import { Flags } from '@oclif/core';
import { resolveSecret } from '../../actions/secret.js';
import { RmmCommand } from '../../base-command.js';
import { serviceLogger } from '../../cli/service-logger.js';
import { credentialPolicy } from '../../credentials/policy.js';
import { durationSeconds } from '../../duration.js';
import { RmmError } from '../../errors.js';
import { openRelayLink, type RelayLink } from '../../relay/connection.js';
import { RelayAgent } from '../../relay/relay-agent.js';
import { openRelayStore } from '../../relay/relay-store.js';
import { reportMsgIds } from '../../relay/reports.js';
import { loadTransports } from '../../transports/registry.js';

/** Metadata names: valid as NATS subject tokens and consumer names. */
const RELAY_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export default class Relay extends RmmCommand {
  static override summary =
    "Run a site's relay agent: take queued actions from NATS and run them at the site.";

  static override description = [
    "Runs at a remote site, as a service (docs/relay.md: a systemd unit and a Windows service recipe). It connects OUT to NATS (tls:// URLs for TLS; the site needs no inbound port) as the user --name with the password --creds names, pulls the actions the console queued for this relay (JetStream consumer RMM_WORK/<name>, which the console creates; until then it waits, saying so), and runs each with the same transport plugins as rmm exec (SSH, WinRM), per transport at most --concurrency at once and one action at a time per device. Credentials are resolved here, through this relay's allow-list (variables starting with RMM_ and files under <data-dir>/credentials/, widened by RMM_CREDENTIAL_ENV_PREFIXES and RMM_CREDENTIAL_DIRS): a work message carries only references, and one with anything else is refused, never run.",
    'Its store is its own rmm database in --data-dir (made on first start, mode 0700). Each action is recorded there before it runs, so an action is never started twice, whatever NATS redelivers; its started and finished reports go through an outbox (table RelayOutbox) to rmm.results.<name>, sent again until NATS has them; the work message is acknowledged only once the finished report is stored. An action whose expiresAt has passed is reported Expired and not run. A relay killed while actions ran reports them Failed ("the relay stopped while this ran; it may or may not have completed") when it starts again, and never reruns them.',
    'SIGTERM or Ctrl-C: no new work; actions waiting for their device go back to the queue; running ones may finish for --drain-timeout, then are stopped (Cancelled); the reports are published if NATS is there (else at the next start), and it exits 0. Logs are JSON lines on stderr (pino), one per action start and end and per connection change; never a secret.',
    'Exit codes: 0 stopped by a signal, 1 a bad --creds or database problem, 7 the data directory cannot be used, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'The relay of site alpha, against a NATS cluster with a private CA.',
      command:
        '<%= config.bin %> <%= command.id %> --name relay-alpha --nats tls://nats1.example.net:4222 --nats tls://nats2.example.net:4222 --creds file:/etc/rmm-relay/credentials/nats-password --tls-ca /etc/rmm-relay/nats-ca.pem --data-dir /var/lib/rmm-relay',
    },
  ];

  static override flags = {
    name: Flags.string({
      summary: "The relay's name: its Relay resource's metadata.name, and its NATS user.",
      required: true,
    }),
    nats: Flags.string({
      summary: 'A NATS server URL (nats:// or tls://); repeat for a cluster.',
      required: true,
      multiple: true,
    }),
    creds: Flags.string({
      summary: "Reference to the relay's NATS password: env:NAME or file:PATH (never the password).",
      required: true,
    }),
    'tls-ca': Flags.file({
      summary: "CA certificate (PEM) that signed the NATS servers' certificates.",
      exists: true,
    }),
    'data-dir': Flags.directory({
      summary: "The relay's own folder: its database (made on first start) and credentials/.",
      required: true,
    }),
    concurrency: Flags.integer({
      char: 'c',
      summary: 'At most this many actions at once per transport (and at most its batch size).',
      default: 200,
      min: 1,
    }),
    'drain-timeout': Flags.string({
      summary: 'On SIGTERM, how long running actions may finish before they are stopped (30s, 5m).',
      default: '30s',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Relay);
    const name = flags.name;
    if (!RELAY_NAME.test(name))
      throw new RmmError('usage', `--name ${JSON.stringify(name)}: not a relay name`, {
        details: ['lowercase letters, digits and dashes, as a Relay metadata.name (relay-alpha)'],
      });
    const drainS = durationSeconds(flags['drain-timeout']);
    if (drainS === undefined)
      throw new RmmError(
        'usage',
        `--drain-timeout ${JSON.stringify(flags['drain-timeout'])}: not a duration`,
        {
          details: ['write it as 30s, 5m or 1h'],
        },
      );
    for (const url of flags.nats)
      if (!/^(nats|tls):\/\/[^\s]+$/.test(url))
        throw new RmmError('usage', `--nats ${JSON.stringify(url)}: not a nats:// or tls:// URL`);
    if (!flags.creds.startsWith('env:') && !flags.creds.startsWith('file:'))
      throw new RmmError(
        'usage',
        '--creds is neither env:NAME nor file:PATH (not shown: it may be the password itself)',
      );
    const dataDir = path.resolve(flags['data-dir']);
    const credentials = credentialPolicy(dataDir);
    let password: ReturnType<typeof resolveSecret>;
    try {
      password = resolveSecret(flags.creds, credentials);
    } catch (error) {
      throw new RmmError('invalid-input', `--creds: ${(error as Error).message}`, {
        details: [
          `a relay resolves env: and file: references through its allow-list; files belong under ${path.join(dataDir, 'credentials')}`,
        ],
      });
    }
    const log = serviceLogger();
    const actor = `rmm relay ${name}`;
    const store = openRelayStore(dataDir, { actor, nowMs: Date.now() });
    let agent: RelayAgent | undefined;
    let link: RelayLink | undefined;
    const stop = (signal: string) => {
      log.info({ signal }, `${signal}: stopping`);
      if (agent) void agent.stop(drainS * 1000);
      else {
        // Still connecting: nothing was taken, nothing runs.
        store.close();
        process.exit(0);
      }
    };
    for (const signal of STOP_SIGNALS) process.once(signal, stop);
    try {
      for (const r of store.recovered)
        log.warn({ action: r.id, device: r.device, status: r.status }, r.error);
      const registry = await loadTransports(this.config, { compileSchemas: false });
      for (const line of registry.refused) log.warn({}, `refused: ${line}`);
      log.info({ relay: name, servers: flags.nats, dataDir }, 'rmm relay starting');
      link = await openRelayLink({
        name,
        servers: flags.nats,
        password,
        ...(flags['tls-ca'] ? { caFile: flags['tls-ca'] } : {}),
        log,
      }).catch((error: Error) => {
        throw new RmmError('invalid-input', `NATS refused the relay's connection: ${error.message}`, {
          details: [
            error.name === 'AuthorizationError'
              ? `check the user (${name}) and the password ${flags.creds} names against the server's authorization (rmm relay config)`
              : 'check --nats and --tls-ca',
          ],
          cause: error,
        });
      });
      agent = new RelayAgent({
        name,
        version: this.config.version,
        store,
        link,
        reportMsgId: reportMsgIds(password.reveal()),
        registry,
        credentials,
        concurrency: flags.concurrency,
        log,
        now: () => Date.now(),
      });
      await agent.run();
      log.info(agent.counts, 'rmm relay stopped');
    } finally {
      for (const signal of STOP_SIGNALS) process.off(signal, stop);
      await link?.close();
      store.close();
    }
  }
}
