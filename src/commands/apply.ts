import { createInterface } from 'node:readline/promises';
import { Flags } from '@oclif/core';
import { dataDirFlags, RmmCommand } from '../base-command.js';
import { errorCount } from '../diagnostics/diagnostic.js';
import type { Plan } from '../engine/plan.js';
import { RmmError } from '../errors.js';
import { databaseFile } from '../paths.js';
import { planAgainst, resolveActor } from '../reconcile.js';
import { openDatabase } from '../state/connection.js';
import { requireDatabaseFile } from '../state/pending-migration.js';
import { stateRevision, writeChanges } from '../state/resource-store.js';
import { validateInputs } from '../validate.js';
import { colorEnabled } from '../views/color.js';
import { renderValidation } from '../views/diagnostics.js';
import { renderPlan } from '../views/plan.js';
import { inputFlags } from './plan.js';

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
    'Exit codes: 0 applied or nothing to do, 1 invalid input or error (nothing changed), 64 bad flags.',
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

  static override flags = {
    ...dataDirFlags,
    ...inputFlags,
    'auto-approve': Flags.boolean({ summary: 'Apply without asking for confirmation.' }),
    actor: Flags.string({ summary: 'Who applies, for AuditLog (default: $RMM_ACTOR, else the OS user).' }),
  };

  async run(): Promise<ApplyJson> {
    const { flags } = await this.parse(Apply);
    if (!flags['auto-approve'] && !process.stdin.isTTY) {
      throw new RmmError(
        'usage',
        'no terminal to confirm on; give --auto-approve to apply without confirmation',
      );
    }
    const validation = await validateInputs(flags.filename, { recursive: flags.recursive, collect: true });
    if (errorCount(validation.diagnostics) > 0) {
      throw new RmmError('invalid-input', 'the declared resources are invalid; nothing was applied', {
        details: renderValidation(validation, false).split('\n'),
      });
    }
    const file = databaseFile(this.dataDir(flags));
    requireDatabaseFile(file);
    const db = openDatabase(file);
    try {
      const { plan, revision } = planAgainst(db, validation.resources, flags.prune);
      const result: ApplyJson = { formatVersion: 1, revision, changes: plan.changes, summary: plan.summary };
      if (plan.changes.length === 0) {
        if (!this.jsonEnabled()) this.log(renderPlan(plan, colorEnabled()));
        return result;
      }
      if (!this.jsonEnabled()) this.log(renderPlan(plan, colorEnabled()));
      if (!flags['auto-approve'] && !(await this.confirm())) {
        throw new RmmError('usage', 'apply cancelled; nothing was changed');
      }
      const actor = resolveActor(flags.actor);
      db.exec('BEGIN IMMEDIATE');
      try {
        // What was shown is what is applied: refuse if anything moved since the plan was computed.
        if (stateRevision(db) !== revision) {
          throw new RmmError(
            'database',
            'the database changed since this plan was computed; nothing was applied',
            {
              details: ['run the command again to see the new plan'],
            },
          );
        }
        writeChanges(db, plan, actor);
        db.exec('COMMIT');
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
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
