import { createInterface } from 'node:readline/promises';
import { Args, Flags } from '@oclif/core';
import { dataDirFlags, RmmCommand } from '../base-command.js';
import type { Plan } from '../engine/plan.js';
import { readSavedPlan } from '../engine/saved-plan.js';
import { RmmError } from '../errors.js';
import {
  checkDestroyLimit,
  commitPlan,
  loadValidResources,
  openResourceDatabase,
  planAgainst,
  resolveActor,
} from '../reconcile.js';
import { displayPath } from '../state/declared-schema.js';
import { colorEnabled } from '../views/color.js';
import { renderPlan } from '../views/plan.js';
import { filenameFlag, reconcileFlags } from './plan.js';

export interface ApplyJson {
  formatVersion: 1;
  revision: number;
  changes: Plan['changes'];
  summary: Plan['summary'];
}

export default class Apply extends RmmCommand {
  static override summary = 'Make the database match the declared resources, in one transaction.';

  static override description = [
    'Computes the same plan as `rmm plan`, shows it, asks for confirmation on a terminal (unless --auto-approve), then applies exactly that plan in one SQLite transaction: all of it lands or none of it. Without a terminal, --auto-approve is required. If the database changed between the plan and the confirmation, nothing is applied.',
    'Every change writes an AuditLog row (user from --actor, RMM_ACTOR or the OS user). Observed fields are never written.',
    'A plan saved with `rmm plan --out FILE` is applied with `rmm apply FILE`: exactly that change set, without a new confirmation, and refused if the database changed since it was computed (an applied plan is stale too).',
    'Exit codes: 0 applied or nothing to do, 1 invalid input, stale plan or error (nothing changed), 4 more destroys than --max-destroy, 5 the write lock stayed taken past --lock-timeout, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Apply a repository of YAML after reviewing the plan.',
      command: '<%= config.bin %> <%= command.id %> -f examples -R',
    },
    {
      description: 'In a pipeline on main.',
      command: '<%= config.bin %> <%= command.id %> -f . -R --auto-approve --actor "$CI_COMMIT_AUTHOR"',
    },
    {
      description: 'Also destroy what was removed from YAML.',
      command: '<%= config.bin %> <%= command.id %> -f . -R --prune --auto-approve',
    },
  ];

  static override enableJsonFlag = true;

  static override args = {
    plan: Args.file({
      description:
        'A plan saved by `rmm plan --out FILE`: applied exactly, if the database has not changed since.',
      exists: true,
    }),
  };

  static override flags = {
    ...dataDirFlags,
    filename: filenameFlag(false),
    ...reconcileFlags,
    'auto-approve': Flags.boolean({ summary: 'Apply without asking for confirmation.' }),
    actor: Flags.string({ summary: 'Who applies, for AuditLog (default: $RMM_ACTOR, else the OS user).' }),
    'lock-timeout': Flags.integer({
      summary: 'Seconds to wait for another apply to finish before giving up (exit 5).',
      default: 30,
      min: 0,
    }),
  };

  async run(): Promise<ApplyJson> {
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
    const resources = args.plan
      ? undefined
      : await loadValidResources(
          flags.filename ?? [],
          { recursive: flags.recursive, dataDir: this.dataDir(flags) },
          'applied',
        );
    const { db, file } = openResourceDatabase(this.dataDir(flags));
    try {
      const planned = args.plan
        ? await readSavedPlan(args.plan)
        : planAgainst(db, resources ?? [], flags.prune);
      const { plan, revision } = planned;
      checkDestroyLimit(plan, flags['max-destroy']);
      const result: ApplyJson = { formatVersion: 1, revision, changes: plan.changes, summary: plan.summary };
      if (!this.jsonEnabled()) this.log(renderPlan(plan, colorEnabled()));
      if (plan.changes.length === 0) return result;
      if (confirm && !(await this.confirm()))
        throw new RmmError('usage', 'apply cancelled; nothing was changed');
      commitPlan(db, planned, resolveActor(flags.actor), flags['lock-timeout'] * 1000, displayPath(file));
      const { add, change, destroy } = plan.summary;
      if (!this.jsonEnabled())
        this.log(`\nApply complete: ${add} added, ${change} changed, ${destroy} destroyed.`);
      return { ...result, revision: revision + 1 };
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
