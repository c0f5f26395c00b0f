import { createInterface } from 'node:readline/promises';
import { Args, Flags } from '@oclif/core';
import { resolveActor } from '../actor.js';
import { dataDirFlags, RmmCommand } from '../base-command.js';
import { planInputs } from '../cli/plan-inputs.js';
import { displayPath } from '../display-path.js';
import { blastRadius } from '../engine/blast-radius.js';
import { RmmError } from '../errors.js';
import { commitPlan } from '../reconcile/apply.js';
import { checkDestroyLimit, checkOwnership } from '../reconcile/refusals.js';
import { planSaved } from '../reconcile/saved-plan.js';
import { monitorChanges } from '../replay/monitor-changes.js';
import { openResourceDatabase } from '../state/resource-database.js';
import { phase } from '../timing.js';
import { transportChecks } from '../transports/registry.js';
import { colorEnabled } from '../views/color.js';
import { writeLines } from '../views/output.js';
import { planLines } from '../views/plan.js';
import { appliedEvents, summaryEvent } from '../views/plan-json.js';
import { filenameFlag, reconcileFlags } from './plan.js';

export default class Apply extends RmmCommand {
  static override summary = 'Make the database match the declared resources, in one transaction.';

  static override description = [
    'Computes the same plan as `rmm plan`, shows it, asks for confirmation on a terminal (unless --auto-approve), then applies exactly that plan in one SQLite transaction: all of it lands or none of it. Without a terminal, --auto-approve is required. If the database changed between the plan and the confirmation, nothing is applied.',
    'Every change writes an AuditLog row (user from --actor, RMM_ACTOR or the OS user). Observed fields are never written.',
    'A plan saved with `rmm plan --out FILE` is applied with `rmm apply FILE`: exactly that change set, without a new confirmation, and refused if the database changed since it was computed (an applied plan is stale too).',
    'With --json, stdout is NDJSON: one line per change, written after the transaction committed, then a summary line (docs/cli.md). Errors go to stderr.',
    'Apply records, for every resource it writes, the apply set (--apply-set) and the file that declared it; --prune destroys only members of that set declared by the -f inputs (docs/apply-sets.md).',
    'Exit codes: 0 applied or nothing to do, 1 invalid input, stale plan or error (nothing changed), 3 resources owned by another apply set (see --take-over), 4 more destroys than --max-destroy, 5 the write lock stayed taken past --lock-timeout, 6 you answered the prompt with anything but yes (nothing changed), 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Apply a repository of YAML after reviewing the plan.',
      command: '<%= config.bin %> <%= command.id %> -f policies -f examples -R',
    },
    {
      description: 'In a pipeline on main.',
      command: '<%= config.bin %> <%= command.id %> -f . -R --auto-approve --actor "$CI_COMMIT_AUTHOR"',
    },
    {
      description: 'Also destroy what was removed from YAML.',
      command: '<%= config.bin %> <%= command.id %> -f . -R --prune --auto-approve',
    },
    {
      description: 'One JSON line per change, then a summary line.',
      command: '<%= config.bin %> <%= command.id %> -f . -R --auto-approve --json',
    },
  ];

  // Not oclif's --json: that prints run()'s result as one pretty document (and errors on stdout);
  // apply streams NDJSON instead, and its errors stay on stderr.
  static override enableJsonFlag = false;

  static override args = {
    plan: Args.file({
      description:
        'A plan saved by `rmm plan --out FILE`: applied exactly, if the database has not changed since.',
    }),
  };

  static override flags = {
    ...dataDirFlags,
    filename: filenameFlag(false),
    ...reconcileFlags,
    'auto-approve': Flags.boolean({ summary: 'Apply without asking for confirmation.' }),
    actor: Flags.string({ summary: 'Who applies, for AuditLog (default: $RMM_ACTOR, else the OS user).' }),
    json: Flags.boolean({
      summary: 'Write NDJSON to stdout: a line per change applied, then a summary line.',
      helpGroup: 'GLOBAL',
    }),
    'lock-timeout': Flags.integer({
      summary: 'Seconds to wait for another apply to finish before giving up (exit 5).',
      default: 30,
      min: 0,
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Apply);
    if (Boolean(args.plan) === Boolean(flags.filename)) {
      throw new RmmError(
        'usage',
        'give the resources with -f, or a saved plan file: one of the two; see rmm apply --help',
      );
    }
    // A saved plan was reviewed when it was made; a plan computed now needs a yes (or --auto-approve).
    const confirm = !args.plan && !flags['auto-approve'];
    if (confirm && !process.stdin.isTTY) {
      throw new RmmError(
        'usage',
        'no terminal to confirm on; give --auto-approve to apply without confirmation',
      );
    }
    const fresh = args.plan
      ? undefined
      : await planInputs(
          flags.filename ?? [],
          {
            recursive: flags.recursive,
            dataDir: this.dataDir(flags),
            prune: flags.prune,
            applySet: flags['apply-set'],
            takeOver: flags['take-over'],
            incremental: flags.incremental,
            recordKeys: true,
            readonly: false,
            transportSchemas: await transportChecks(
              this.config,
              flags['allow-unknown-transports'],
              this.dataDir(flags),
            ),
          },
          'applied',
        );
    phase('planned');
    const opened = fresh ?? openResourceDatabase(this.dataDir(flags), { pendingMigration: true });
    const { db, file } = opened;
    try {
      const planned =
        fresh?.planned ??
        (await planSaved(db, args.plan as string, {
          dataDir: this.dataDir(flags),
          migration: opened.migration,
          transportSchemas: await transportChecks(this.config, false, this.dataDir(flags)),
        }));
      const { plan, revision } = planned;
      checkOwnership(plan);
      checkDestroyLimit(plan, flags['max-destroy']);
      const nothingToDo = plan.changes.length === 0 && planned.migration.length === 0;
      // With --json stdout holds only events; a plan to confirm is shown on stderr instead.
      if (!flags.json || (confirm && !nothingToDo)) {
        const radius = blastRadius(
          plan,
          () => planned.stored,
          monitorChanges(planned.near ?? planned.stored, plan).devices,
        );
        writeLines(
          planLines(plan, colorEnabled(), radius, planned.migration, undefined, undefined, flags.full),
          flags.json ? process.stderr : process.stdout,
        );
      }
      phase('shown');
      if (nothingToDo) {
        if (flags.json) writeLines([JSON.stringify(summaryEvent(plan, false, revision))]);
        return;
      }
      if (confirm && !(await this.confirm()))
        throw new RmmError('declined', 'apply declined (only "yes" applies); nothing was changed');
      commitPlan(db, planned, resolveActor(flags.actor), flags['lock-timeout'] * 1000, displayPath(file), {
        manifests: fresh?.manifests,
      });
      phase('committed');
      // Only now, after the commit: an event never describes a change that was rolled back.
      if (flags.json) {
        writeLines(appliedEvents(plan, revision + 1, planned.migration.length));
        return;
      }
      const { add, change, destroy } = plan.summary;
      const migrated =
        planned.migration.length > 0 ? ` (after ${planned.migration.length} schema steps)` : '';
      this.log(`\nApply complete: ${add} added, ${change} changed, ${destroy} destroyed${migrated}.`);
    } finally {
      db.close();
    }
  }

  private async confirm(): Promise<boolean> {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await rl.question('\nApply these changes? Only "yes" is accepted: ');
      return answer.trim() === 'yes';
    } finally {
      rl.close();
    }
  }
}
