import { Flags } from '@oclif/core';
import { toJobs } from '../../actions/jobs.js';
import { emptySummary } from '../../actions/runner.js';
import { devicesByName } from '../../actions/targets.js';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { dispatch, openRunnerQueue } from '../../cli/dispatch.js';
import { runnerFlags } from '../../cli/runner-flags.js';
import { finalCounts } from '../../views/action-events.js';
import { writeLines } from '../../views/output.js';

export default class ActionsRun extends RmmCommand {
  static override summary = 'Run the queued actions that are due.';

  static override description = [
    'Runs the Pending actions whose ScheduledAt is unset or past (rmm exec --at queues them), by Priority (1 first), then oldest first, through the same runner as rmm exec: per transport a sliding window as wide as its batch size or --concurrency. Each device is looked up in the database as it is now; a device that is gone ends its action Failed.',
    'One pass: actions that fall due while it runs wait for the next run (run it from cron or a systemd timer). Two runners at once never run the same action: each is claimed before it starts.',
    'Before it starts, actions a killed runner left Running are ended as Failed (their command may or may not have run; they are never rerun).',
    'Ctrl-C, SIGTERM and SIGHUP stop the running actions (Cancelled) and leave the others Pending.',
    "Exit codes: 0 every action succeeded or none was due, 1 some did not (or an error), 5 another writer held the database's write lock (as for rmm exec), 64 bad flags, 130 cancelled.",
  ].join('\n\n');

  static override examples = [
    { description: 'Run what is due.', command: '<%= config.bin %> <%= command.id %>' },
    {
      description: 'At most 100 actions, 20 at a time, as NDJSON.',
      command: '<%= config.bin %> <%= command.id %> --limit 100 --concurrency 20 --json',
    },
  ];

  static override flags = {
    ...dataDirFlags,
    ...runnerFlags,
    limit: Flags.integer({ char: 'n', summary: 'Run at most this many actions.', default: 10_000, min: 1 }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ActionsRun);
    const { db, store, credentials } = openRunnerQueue(this.dataDir(flags), flags.actor);
    try {
      const due = store.due(flags.limit);
      if (due.length === 0) {
        if (flags.json) writeLines([JSON.stringify({ type: 'summary', ...finalCounts(emptySummary()) })]);
        else this.logToStderr('No actions are due.');
        return;
      }
      process.exitCode = await dispatch(toJobs(due, devicesByName(db)), {
        credentials,
        config: this.config,
        dataDir: this.dataDir(flags),
        db,
        store,
        concurrency: flags.concurrency,
        json: flags.json,
        label: 'Run complete',
        unstarted: 'leave',
      });
    } finally {
      db.close();
    }
  }
}
