import { Args, Flags } from '@oclif/core';
import { type ExecPayload, toJobs } from '../actions/jobs.js';
import { parseAt } from '../actions/schedule.js';
import { selectDevices } from '../actions/targets.js';
import { dataDirFlags, RmmCommand } from '../base-command.js';
import { dispatch, openRunnerQueue } from '../cli/dispatch.js';
import { queueingFlags, runnerFlags } from '../cli/runner-flags.js';
import { durationSeconds } from '../duration.js';
import { RmmError } from '../errors.js';
import { showQueued } from '../views/queued.js';

export default class Exec extends RmmCommand {
  static override summary = 'Run a command on the selected devices, through their transports.';

  static override description = [
    'Queues one Actions row per selected device (ActionType exec), then runs them through the transports: per transport a sliding window as wide as its batch size (SSH 200) or --concurrency, whichever is smaller. Each row goes Pending -> Running -> Succeeded, Failed, TimedOut, Unreachable or Cancelled, with its exit code and output (the first 64 KiB of stdout and of stderr) in Actions.Result, and an AuditLog row.',
    'Selectors: name=NAME (* matches any run of characters), site=SITE, group=GROUP (members of its subgroups too), label.KEY=VALUE. Terms joined by commas must all hold; repeat --target to add devices.',
    'With --at TIME the rows are only queued, due at TIME (ISO 8601; without an offset, local time): rmm actions run runs due actions.',
    "Output: each device's result as it ends, then a summary; on a terminal, a live line of counts per state on stderr. --json writes NDJSON: one event per state change, then one queued-at-end object per action a queue still holds (id, device, status, route, expiresAt), then a summary. Ctrl-C, SIGTERM and SIGHUP cancel: actions not started become Cancelled, running ones are stopped.",
    "The rows are this command's own from the moment they are queued: rmm actions run never runs them, and if this rmm exec is killed before starting some, the next runner on this host ends those Cancelled (not run).",
    'Before it starts, actions a killed runner left Running are ended as Failed (their command may or may not have run; they are never rerun), and actions a killed rmm exec had queued and not started are ended as Cancelled.',
    "Devices whose site has a relay (docs/queued-transports.md) are not reached directly: their actions are submitted to the relay's queue (Pending -> Delivered), and rmm exec waits for their results while the relay is seen (a report or heartbeat within 90 s), up to --timeout + --connect-timeout + 1 minute; with --wait DURATION, up to DURATION even while the relay is offline (--wait 0s returns once they are delivered). Each carries a deadline (--expire, default the relay's actionExpiry): a relay that takes it later reports it Expired instead of running it. Ctrl-C stops the wait only: delivered actions are not withdrawn (rmm actions cancel withdraws one the relay has not taken). What is still queued is listed, with how to follow it; rmm serve or rmm actions collect records the results.",
    "Exit codes: 0 every action succeeded (or, with --at, all queued), 1 some did not (or an error), 5 another writer held the database's write lock (at start-up: nothing was queued; after the commands ran: past every retry, their results shown but not recorded), 64 bad flags, 75 some actions are still queued (Delivered or Running at a relay or an SMB share, or Pending with a delivery intent because the queue could not be reached) when the wait ended, 130 cancelled.",
  ].join('\n\n');

  static override examples = [
    {
      description: 'Uptime of every device of site alpha.',
      command: '<%= config.bin %> <%= command.id %> --target site=alpha -- uptime',
    },
    {
      description: 'Queue a restart for 3:00 UTC; rmm actions run (from cron, say) runs it once due.',
      command:
        '<%= config.bin %> <%= command.id %> --target group=web --at 2026-11-27T03:00:00Z -- systemctl restart nginx',
    },
    {
      description: 'Web servers of two sites, 50 at a time, 30 s each.',
      command:
        '<%= config.bin %> <%= command.id %> --target site=alpha,label.role=web --target site=beta,label.role=web --concurrency 50 --timeout 30 -- systemctl is-active nginx',
    },
  ];

  static override strict = false;

  static override args = {
    command: Args.string({
      description: "The command, after --: run by the device's shell.",
      required: true,
    }),
  };

  static override flags = {
    ...dataDirFlags,
    ...queueingFlags,
    ...runnerFlags,
    timeout: Flags.integer({
      summary: 'Seconds a command may run before it is stopped (TimedOut).',
      default: 300,
      min: 1,
    }),
    priority: Flags.integer({
      summary: 'Actions.Priority of the queued rows (1 highest).',
      default: 5,
      min: 1,
      max: 10,
    }),
    wait: Flags.string({
      summary:
        'How long to wait for results from relays (30s, 5m, 1h), even while a relay is offline. Default: --timeout + --connect-timeout + 1m while the relay is seen.',
    }),
    expire: Flags.string({
      summary:
        "Deadline of actions sent to relays (30m, 24h): not started after it. Default: the relay's actionExpiry.",
    }),
    powershell: Flags.boolean({
      summary: 'The command is a PowerShell script, for Windows devices.',
      description:
        'Sent as powershell -EncodedCommand (UTF-16LE, base64), which no cmd.exe or PowerShell quoting can alter; a script too long for a command line (8191 characters) goes on stdin to a small bootstrap.',
    }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Exec);
    const command = (argv as string[]).join(' ');
    if (!command.trim())
      throw new RmmError('usage', 'give the command after --, for example: rmm exec -t site=alpha -- uptime');
    const at = flags.at === undefined ? undefined : parseAt(flags.at);
    const waitSeconds = flags.wait === undefined ? undefined : durationFlag('--wait', flags.wait, 0);
    const expireSeconds = flags.expire === undefined ? undefined : durationFlag('--expire', flags.expire, 60);
    const { db, store, credentials } = openRunnerQueue(this.dataDir(flags), flags.actor);
    try {
      const devices = selectDevices(db, flags.target);
      const payload: ExecPayload = {
        command,
        ...(flags.powershell ? { powershell: true } : {}),
        timeoutMs: flags.timeout * 1000,
        connectTimeoutMs: flags['connect-timeout'] * 1000,
      };
      const names = devices.map((d) => d.name);
      const ids = store.create('exec', names, payload, {
        priority: flags.priority,
        scheduledAt: at?.utc ?? null,
        // Run now: this process's rows, never the queue's (see store.create).
        owned: !at,
      });
      // Queued for later: rmm actions run picks them up once due.
      if (at) return showQueued(ids, names, at.utc, flags.json);
      const jobs = toJobs(store.load(ids), new Map(devices.map((d) => [d.name, d])));
      process.exitCode = await dispatch(jobs, {
        credentials,
        config: this.config,
        dataDir: this.dataDir(flags),
        db,
        store,
        concurrency: flags.concurrency,
        json: flags.json,
        label: 'Exec complete',
        unstarted: 'cancel',
        waitMs: (waitSeconds ?? flags.timeout + flags['connect-timeout'] + 60) * 1000,
        // An explicit --wait is waited out for a relay that is offline now; the default is not.
        waitUnseen: waitSeconds !== undefined,
        ...(expireSeconds === undefined ? {} : { expireSeconds }),
        actor: store.actor,
      });
    } finally {
      db.close();
    }
  }
}

/** A duration flag in seconds (the YAML form: 30s, 5m, 1h30m), at least `min`. */
function durationFlag(name: string, text: string, min: number): number {
  const seconds = durationSeconds(text);
  if (seconds === undefined || seconds < min)
    throw new RmmError(
      'usage',
      `${name} ${JSON.stringify(text)}: give a duration such as 30s, 5m or 1h30m${min ? ` (at least ${min}s)` : ''}`,
    );
  return seconds;
}
