import { Args, Flags } from '@oclif/core';
import { type ActionEvent, type Job, runActions, type Summary } from '../actions/runner.js';
import { actionStore } from '../actions/store.js';
import { selectDevices } from '../actions/targets.js';
import { dataDirFlags, RmmCommand } from '../base-command.js';
import { ExitCode, RmmError } from '../errors.js';
import { openResourceDatabase, resolveActor } from '../reconcile.js';
import { loadTransports } from '../transports/registry.js';
import { writeLines } from '../views/output.js';

export default class Exec extends RmmCommand {
  static override summary = 'Run a command on the selected devices, through their transports.';

  static override description = [
    'Queues one Actions row per selected device (ActionType exec), then runs them through the transports: per transport a sliding window as wide as its batch size (SSH 200) or --concurrency, whichever is smaller. Each row goes Pending -> Running -> Succeeded, Failed, TimedOut, Unreachable or Cancelled, with its exit code and output (the first 64 KiB of stdout and of stderr) in Actions.Result, and an AuditLog row.',
    'Selectors: name=NAME (* matches any run of characters), site=SITE, group=GROUP (members of its subgroups too), label.KEY=VALUE. Terms joined by commas must all hold; repeat --target to add devices.',
    "Output: each device's result as it ends, then a summary. --json writes NDJSON: one event per state change, then a summary. Ctrl-C cancels: actions not started become Cancelled, running ones are stopped.",
    'Exit codes: 0 every action succeeded, 1 some did not (or an error), 64 bad flags, 130 cancelled.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Uptime of every device of site alpha.',
      command: '<%= config.bin %> <%= command.id %> --target site=alpha -- uptime',
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
    target: Flags.string({
      char: 't',
      summary: 'Which devices (see the description). Repeat to add.',
      multiple: true,
      required: true,
    }),
    concurrency: Flags.integer({
      char: 'c',
      summary: 'At most this many at once per transport.',
      default: 200,
      min: 1,
    }),
    timeout: Flags.integer({
      summary: 'Seconds a command may run before it is stopped (TimedOut).',
      default: 300,
      min: 1,
    }),
    'connect-timeout': Flags.integer({
      summary: 'Seconds to wait for a connection, counted from when its slot opens.',
      default: 15,
      min: 1,
    }),
    priority: Flags.integer({
      summary: 'Actions.Priority of the queued rows (1 highest).',
      default: 5,
      min: 1,
      max: 10,
    }),
    actor: Flags.string({
      summary: 'Who runs it, for Actions.CreatedBy and AuditLog (default: $RMM_ACTOR, else the OS user).',
    }),
    json: Flags.boolean({ summary: 'NDJSON events on stdout: one per state change, then a summary.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Exec);
    const command = (argv as string[]).join(' ');
    if (!command.trim())
      throw new RmmError('usage', 'give the command after --, for example: rmm exec -t site=alpha -- uptime');
    const registry = await loadTransports(this.config);
    for (const line of registry.refused) this.logToStderr(`Refused: ${line}`);
    const { db } = openResourceDatabase(this.dataDir(flags));
    const controller = new AbortController();
    const cancel = () => controller.abort(new Error('cancelled (Ctrl-C)'));
    process.once('SIGINT', cancel);
    try {
      const devices = selectDevices(db, flags.target);
      db.pragma('synchronous = NORMAL'); // WAL: one fsync per checkpoint, not per status change
      const store = actionStore(db, resolveActor(flags.actor));
      const ids = store.create(
        'exec',
        devices.map((d) => d.name),
        { command, timeoutMs: flags.timeout * 1000 },
        { priority: flags.priority },
      );
      const jobs: Job[] = devices.map((device, i) => ({ id: ids[i] as string, device, command }));
      if (!flags.json)
        this.logToStderr(`Running on ${devices.length} device${devices.length === 1 ? '' : 's'}...`);
      const summary = await runActions(jobs, {
        registry,
        store,
        concurrency: flags.concurrency,
        timeoutMs: flags.timeout * 1000,
        connectTimeoutMs: flags['connect-timeout'] * 1000,
        signal: controller.signal,
        onEvent: (event) => (flags.json ? writeLines([JSON.stringify(event)]) : this.showEvent(event)),
      });
      if (flags.json) writeLines([JSON.stringify({ type: 'summary', ...counts(summary) })]);
      else this.log(`\nExec complete: ${describe(summary)}.`);
      if (controller.signal.aborted) process.exitCode = 130;
      else if (summary.Succeeded < jobs.length) process.exitCode = ExitCode.error;
    } finally {
      process.off('SIGINT', cancel);
      db.close();
    }
  }

  private showEvent(event: ActionEvent): void {
    if (event.status === 'Running') return;
    const how = event.exitCode !== undefined ? `exit ${event.exitCode}` : (event.error ?? '');
    const lines = [
      `--- ${event.device}: ${event.status} (${how}, ${((event.durationMs ?? 0) / 1000).toFixed(2)} s)`,
    ];
    if (event.stdout) lines.push(event.stdout.replace(/\n$/, ''));
    if (event.stderr) lines.push(event.stderr.replace(/\n$/, ''));
    writeLines(lines);
  }
}

function counts(summary: Summary) {
  const { Pending: _p, Running: _r, ...final } = summary;
  return final;
}

function describe(summary: Summary): string {
  return Object.entries(counts(summary))
    .map(([status, n]) => `${n} ${status.toLowerCase()}`)
    .join(', ');
}
