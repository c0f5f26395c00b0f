import { writeFile } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import { dataDirFlags, outputFlag, RmmCommand, unknownTransportsFlags } from '../base-command.js';
import { planInputs } from '../cli/plan-inputs.js';
import { planReplayView, replayFlags, replayWindow } from '../cli/plan-replay.js';
import { blastRadius } from '../engine/blast-radius.js';
import { plannedState } from '../engine/planned-state.js';
import { redactFieldChanges } from '../engine/redact.js';
import { signedPlanText, toSavedPlan } from '../engine/saved-plan.js';
import { ExitCode, RmmError } from '../errors.js';
import { upcomingWindows } from '../maintenance/upcoming.js';
import { quote } from '../quote.js';
import { windowsMayShow } from '../reconcile/plan.js';
import { checkDestroyLimit, checkOwnership } from '../reconcile/refusals.js';
import { monitorChanges } from '../replay/monitor-changes.js';
import { planKeyForSaving } from '../state/plan-key.js';
import { phase } from '../timing.js';
import { transportChecks } from '../transports/registry.js';
import { colorEnabled } from '../views/color.js';
import { writeLines } from '../views/output.js';
import { planLines } from '../views/plan.js';
import { type PlanJson, planJson } from '../views/plan-json.js';
import { LIST_AT_MOST } from '../views/plan-summary.js';

/** -f, shared by plan and apply (apply may take a saved plan instead). */
export const filenameFlag = (required: boolean) =>
  Flags.string({
    char: 'f',
    summary: 'A file, a directory, or - for stdin. Repeat to give several.',
    multiple: true,
    required,
  });

export const reconcileFlags = {
  recursive: Flags.boolean({ char: 'R', summary: 'Include subdirectories of directories given with -f.' }),
  prune: Flags.boolean({
    summary:
      'Destroy members of the apply set, declared by the -f files or folders, that are no longer declared.',
  }),
  'apply-set': Flags.string({
    summary: 'The apply set that owns what this input declares (default: $RMM_APPLY_SET, else "default").',
    description:
      'Resources remember the set and the file that applied them. --prune removes only members of this set whose file is one of the -f inputs or lies in a folder given; a resource another set owns is refused unless --take-over. See docs/apply-sets.md.',
  }),
  'take-over': Flags.boolean({
    summary: 'Move declared resources that another apply set owns into this one (shown in the plan).',
  }),
  'max-destroy': Flags.integer({
    summary: 'Refuse a plan that destroys more than this many resources (exit 4).',
    min: 0,
  }),
  incremental: Flags.boolean({
    default: true,
    allowNo: true,
    summary: 'Leave unread the files that are as they were last applied (--no-incremental reads every file).',
    description:
      'A file whose text (and what its checks depend on) is as the last apply -f of this apply set recorded, and none of whose rows was edited outside rmm since, is neither checked nor compared again: the plan is the same as a full one. Only files that declare devices alone are left unread; anything else plans in full. See docs/Architecture.md#incremental-plans.',
  }),
  full: Flags.boolean({
    summary: `List every change even when there are more than ${LIST_AT_MOST.toLocaleString('en-US')} (they are counted per kind and site otherwise).`,
    description:
      'A plan of thousands of changes is counted per kind and site, on a terminal and in a pipe alike: listed field by field, 100,000 creates were 43 MB of text. --json and a saved plan (--out) always hold every change. See docs/cli.md#large-plans.',
  }),
  ...unknownTransportsFlags,
};

export default class PlanCommand extends RmmCommand {
  static override summary = 'Show what apply would change in the database to match the declared resources.';

  static override description = [
    'Validates the YAML (same checks and messages as `rmm validate`), then compares each declared resource (Relay, Site, Policy, DeviceGroup, Device, NotificationChannel, AlertRoute) with the database: + to create, ~ to update (field by field, nested fields included), - to destroy. Nothing is written.',
    "References resolve against the input and what the database already holds, so one site's files can be planned alone.",
    'Every applied resource remembers its apply set (--apply-set, default "default") and the file that declared it. Only members of this set whose file is among the -f inputs (or in a folder given) are ever destroyed, and only with --prune; without it they are listed as no longer declared. So `-f sites/alpha --prune` never touches what other files applied. A resource another set owns is refused (exit 3) unless --take-over. Rows rmm never managed are never touched, the default site main is never destroyed, and observed fields (LastSeen, Status, OS details) are never part of a plan. See docs/apply-sets.md.',
    'Existing devices whose route changes are listed by where their actions will run: "3 devices move to relay relay-alpha: a-1, a-2, a-3", "1 device moves from relay relay-beta to direct: b-1" (a site gaining, losing or changing its relay, a Relay created or destroyed, a device changing site or transport via; docs/resources.md#relays-and-via).',
    "It also lists the maintenance windows that start or end within the next 24 hours, in the state the plan leads to, each in its site's local time (docs/maintenance.md).",
    "Each monitor the plan adds or changes (threshold, op, for, severity, metric or match, on any device) is replayed through rmm serve's evaluator over the stored samples of the last 7 days (--replay DURATION; --no-replay skips it): per monitor, the alerts it would have fired as planned and as it runs now on the same devices. It only reads the series those monitors cover; a saved plan (--out) does not hold it, and apply never replays. See docs/monitoring.md#threshold-replay.",
    'Exit codes: 0 success (with --detailed-exitcode: no changes), 1 invalid input or error, 2 with --detailed-exitcode: changes present, 3 resources owned by another apply set, 4 more destroys than --max-destroy, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Review what a repository of YAML would change.',
      command: '<%= config.bin %> <%= command.id %> -f policies -f examples -R',
    },
    {
      description: 'In CI on a pull request: exit 2 when there are changes.',
      command: '<%= config.bin %> <%= command.id %> -f . -R --detailed-exitcode',
    },
    {
      description: 'Include the destruction of resources removed from YAML.',
      command: '<%= config.bin %> <%= command.id %> -f . -R --prune',
    },
    {
      description: "One site's pipeline: prune only what its own files declared.",
      command: '<%= config.bin %> <%= command.id %> -f sites/alpha -R --prune --apply-set site-alpha',
    },
    {
      description: 'Save the plan for a later, exact apply.',
      command: '<%= config.bin %> <%= command.id %> -f . -R --out plan.json',
    },
    {
      description: 'Replay the last 24 hours of samples through the changed monitors, instead of 7 days.',
      command: '<%= config.bin %> <%= command.id %> -f . -R --replay 24h',
    },
    {
      description: 'The plan as JSON (-o json says the same).',
      command: '<%= config.bin %> <%= command.id %> -f . -R --json',
    },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    ...dataDirFlags,
    filename: filenameFlag(true),
    ...reconcileFlags,
    'detailed-exitcode': Flags.boolean({ summary: 'Exit 0 when there are no changes and 2 when there are.' }),
    // No short form: -o is the output format in every command (docs/cli.md).
    out: Flags.file({ summary: 'Save the plan to this file, for `rmm apply FILE` to apply exactly it.' }),
    output: outputFlag(['text', 'json'], 'text'),
    now: Flags.string({
      summary:
        "The plan's time, ISO 8601 (for tests): which maintenance windows start or end within 24h, and where the replay window ends.",
      hidden: true,
    }),
    ...replayFlags,
  };

  async run(): Promise<PlanJson> {
    const { flags } = await this.parse(PlanCommand);
    // The clock is read here, at the edge, and both bad flags are refused before anything is read:
    // the replay window ends at the plan's time, and windows are listed from it.
    const now = planTime(flags.now);
    const window = flags['no-replay'] ? undefined : replayWindow(flags.replay, now);
    const { db, planned } = await planInputs(
      flags.filename ?? [],
      {
        recursive: flags.recursive,
        dataDir: this.dataDir(flags),
        prune: flags.prune,
        applySet: flags['apply-set'],
        takeOver: flags['take-over'],
        incremental: flags.incremental,
        readonly: true,
        transportSchemas: await transportChecks(
          this.config,
          flags['allow-unknown-transports'],
          this.dataDir(flags),
        ),
      },
      'planned',
    );
    phase('planned');
    try {
      const { plan, revision } = planned;
      checkOwnership(plan);
      checkDestroyLimit(plan, flags['max-destroy']);
      if (flags['detailed-exitcode'] && (plan.changes.length > 0 || planned.migration.length > 0))
        process.exitCode = ExitCode.changes;
      // An incremental plan changes only devices: its compared rows hold all the monitor section reads.
      const monitors = monitorChanges(planned.near ?? planned.stored, plan);
      const radius = blastRadius(plan, () => planned.stored, monitors.devices);
      const upcoming = windowsMayShow(planned)
        ? upcomingWindows(plannedState(plan, planned.stored), now)
        : [];
      phase('maintenance windows');
      const replay = planReplayView(db, planned, monitors, window);
      phase('replayed');
      if (!this.jsonEnabled())
        writeLines(
          planLines(plan, colorEnabled(), radius, planned.migration, { upcoming, now }, replay, flags.full),
        );
      phase('shown');
      if (flags.out) {
        // The fields are what `rmm apply FILE` shows, so they are masked; desired (what it writes) is not.
        const shown = plan.changes.map((c) => ({ ...c, fields: redactFieldChanges(c.kind, c.fields) }));
        const saved = toSavedPlan({ ...plan, changes: shown }, revision, planned.migration, {
          prune: Boolean(flags.prune),
          takeOver: Boolean(flags['take-over']),
          allowUnknownTransports: Boolean(flags['allow-unknown-transports']),
        });
        const text = signedPlanText(saved, planKeyForSaving(this.dataDir(flags)));
        await writeFile(flags.out, text).catch((error: Error) => {
          throw new RmmError('invalid-input', `cannot save the plan to ${flags.out}: ${error.message}`);
        });
        this.logToStderr(`Saved the plan to ${flags.out}; apply exactly it with: rmm apply ${flags.out}`);
      }
      return planJson(plan, revision, radius, planned.migration, upcoming, replay);
    } finally {
      db.close();
    }
  }
}

function planTime(text: string | undefined): number {
  if (text === undefined) return Date.now();
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new RmmError('usage', `--now must be an ISO 8601 time, not ${quote(text)}`);
  return ms;
}
