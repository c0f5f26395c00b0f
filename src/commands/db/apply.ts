import { Flags } from '@oclif/core';
import { resolveActor } from '../../actor.js';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { requireDatabaseFile, requireWritableDatabase } from '../../data-dir.js';
import { displayPath } from '../../display-path.js';
import { databaseFile } from '../../paths.js';
import { openDatabase } from '../../state/connection.js';
import { loadDeclaredSchema } from '../../state/declared-schema.js';
import { applyMigration } from '../../state/migrate.js';
import { pendingMigration } from '../../state/pending-migration.js';
import { colorEnabled } from '../../views/color.js';
import { type PlanJson, planJson, renderSteps } from '../../views/migration-plan.js';

export type ApplyJson = PlanJson & { applied: number };

export default class DbApply extends RmmCommand {
  static override summary = 'Bring the database to schemas/database.yaml: run the steps `rmm db plan` shows.';

  static override description = [
    'Computes the same plan as `rmm db plan` and runs it in one transaction: either every step succeeds, foreign keys still hold and the schema hash is recorded, or nothing changes at all. Tables that need more than ALTER TABLE can do are rebuilt the way SQLite documents it, with foreign keys off so child rows are neither cascaded away nor rejected while their parent is swapped.',
    'Steps that lose data (a dropped table, a dropped column) are refused unless --allow-destructive is given; the refusal changes nothing and exits 3.',
    'Exit codes: 0 applied or nothing to do, 1 the migration failed (rolled back) or bad input, 3 refused destructive steps, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Review, then apply.',
      command: '<%= config.bin %> db plan && <%= config.bin %> <%= command.id %>',
    },
    {
      description: 'Apply, dropping tables and columns no longer declared.',
      command: '<%= config.bin %> <%= command.id %> --allow-destructive',
    },
    {
      description: 'Apply to the database of another data directory.',
      command: '<%= config.bin %> <%= command.id %> --data-dir /var/lib/rmm',
    },
    {
      description: 'Apply and report what ran, as JSON (for deploy logs).',
      command: '<%= config.bin %> <%= command.id %> --json',
    },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    ...dataDirFlags,
    'allow-destructive': Flags.boolean({
      summary: 'Also run steps that lose data (dropped tables and columns).',
    }),
    'schema-file': Flags.file({ summary: 'Use another database.yaml (for tests).', hidden: true }),
  };

  async run(): Promise<ApplyJson> {
    const { flags } = await this.parse(DbApply);
    const declared = loadDeclaredSchema(flags['schema-file']);
    const file = databaseFile(this.dataDir(flags));
    requireDatabaseFile(file);
    requireWritableDatabase(file);
    const db = openDatabase(file);
    try {
      const { live, plan } = pendingMigration(db, declared);
      const refused = plan.destructive && !flags['allow-destructive'];
      if (plan.steps.length > 0 && !refused)
        this.logToStderr(`Applying ${plan.steps.length} steps to ${displayPath(file)}...`);
      const { applied } = applyMigration(db, plan, {
        allowDestructive: flags['allow-destructive'],
        actor: resolveActor(undefined),
      });
      if (applied === 0) {
        this.log(`No changes. Database schema matches ${declared.label}.`);
      } else {
        this.log(
          [
            ...renderSteps(plan, { color: colorEnabled() }),
            '',
            `Applied ${applied} step${applied === 1 ? '' : 's'}.`,
          ].join('\n'),
        );
      }
      return {
        ...planJson(plan, { database: file, fromHash: live.schemaHash, toHash: declared.hash }),
        applied,
      };
    } finally {
      db.close();
    }
  }
}
