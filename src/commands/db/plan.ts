import { Flags } from '@oclif/core';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { requireDatabaseFile } from '../../data-dir.js';
import { ExitCode } from '../../errors.js';
import { databaseFile } from '../../paths.js';
import { openDatabase } from '../../state/connection.js';
import { loadDeclaredSchema } from '../../state/declared-schema.js';
import { pendingMigration } from '../../state/pending-migration.js';
import { colorEnabled } from '../../views/color.js';
import { type PlanJson, planJson, renderPlan } from '../../views/migration-plan.js';

export default class DbPlan extends RmmCommand {
  static override summary =
    'Show what it would take to bring the database to schemas/database.yaml, without changing it.';

  static override description = [
    'Reads the live schema of devices.db (opened read-only), compares it with schemas/database.yaml and prints the steps `rmm db apply` would run, in the order it would run them: tables created, columns added, tables rebuilt (for changes SQLite cannot ALTER in place), indexes dropped and created, seed rows inserted, tables dropped, and the schema hash recorded.',
    'Steps that lose data (a dropped table, a rebuild that leaves a column behind) are marked [destructive]; `rmm db apply` refuses them without --allow-destructive.',
    'Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error (no database, invalid schema file), 2 with --detailed-exitcode: there are changes, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    { description: 'What would change.', command: '<%= config.bin %> <%= command.id %>' },
    {
      description: 'With the SQL of every step, to review it before applying.',
      command: '<%= config.bin %> <%= command.id %> --sql',
    },
    {
      description:
        'In CI: exit 2 when the database has drifted from the declared schema (0 when it has not).',
      command: '<%= config.bin %> <%= command.id %> --detailed-exitcode',
    },
    {
      description: 'The plan as JSON, for a review bot.',
      command: '<%= config.bin %> <%= command.id %> --json --data-dir /var/lib/rmm',
    },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    ...dataDirFlags,
    sql: Flags.boolean({ summary: 'Print the SQL of each step under it.' }),
    'detailed-exitcode': Flags.boolean({ summary: 'Exit 0 when there are no changes and 2 when there are.' }),
    'schema-file': Flags.file({ summary: 'Use another database.yaml (for tests).', hidden: true }),
  };

  async run(): Promise<PlanJson> {
    const { flags } = await this.parse(DbPlan);
    const declared = loadDeclaredSchema(flags['schema-file']);
    const file = databaseFile(this.dataDir(flags));
    requireDatabaseFile(file);
    const db = openDatabase(file, { readonly: true });
    try {
      const { live, plan } = pendingMigration(db, declared);
      if (flags['detailed-exitcode'] && plan.steps.length > 0) process.exitCode = ExitCode.changes;
      this.log(renderPlan(plan, declared.label, { sql: flags.sql, color: colorEnabled() }));
      return planJson(plan, { database: file, fromHash: live.schemaHash, toHash: declared.hash });
    } finally {
      db.close();
    }
  }
}
