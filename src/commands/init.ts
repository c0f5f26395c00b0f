import { Flags } from '@oclif/core';
import { resolveActor } from '../actor.js';
import { dataDirFlags, RmmCommand } from '../base-command.js';
import { prepareDataDir } from '../data-dir.js';
import { displayPath } from '../display-path.js';
import { RmmError } from '../errors.js';
import type { MigrationStep } from '../formats/migration-step.js';
import { databaseFile } from '../paths.js';
import { openDatabase } from '../state/connection.js';
import { loadDeclaredSchema } from '../state/declared-schema.js';
import { applyMigration } from '../state/migrate.js';
import { pendingMigration } from '../state/pending-migration.js';
import { shortHash } from '../state/table-schema.js';
import { describeCreation, renderSteps } from '../views/migration-plan.js';

export interface InitResult {
  database: string;
  created: boolean;
  schemaHash: string;
  steps: MigrationStep[];
}

export default class Init extends RmmCommand {
  static override summary = 'Create the data directory and the console database from schemas/database.yaml.';

  static override description = [
    'Creates the data directory with its cache/ and archive/ folders (mode 0700: only you can read them; a looser existing one is reported in one warning, see docs/security.md), then devices.db (mode 0600) with every table, index and seed row declared in schemas/database.yaml, and records the schema hash in RmmMeta. All of it runs in one transaction: an interrupted init leaves no half-made database.',
    'Safe to run again: when the database already matches the declared schema it says so and changes nothing. When it exists but differs, init changes nothing either and exits 1; see the difference with `rmm db plan` and make it with `rmm db apply`.',
    'Exit codes: 0 created or already up to date, 1 the database differs or cannot be opened, 7 the data directory cannot be used (a file, not writable, devices.db not a readable SQLite file: nothing is created), 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Create ./data/devices.db (or say it is up to date).',
      command: '<%= config.bin %> <%= command.id %>',
    },
    {
      description: 'Create the database in another data directory.',
      command: '<%= config.bin %> <%= command.id %> --data-dir /var/lib/rmm',
    },
    {
      description: 'The same, chosen by the environment (as a service unit would).',
      command: 'RMM_DATA_DIR=/var/lib/rmm <%= config.bin %> <%= command.id %>',
    },
    {
      description: 'What was created, as JSON (for provisioning scripts).',
      command: '<%= config.bin %> <%= command.id %> --json',
    },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    ...dataDirFlags,
    'schema-file': Flags.file({ summary: 'Use another database.yaml (for tests).', hidden: true }),
  };

  async run(): Promise<InitResult> {
    const { flags } = await this.parse(Init);
    const declared = loadDeclaredSchema(flags['schema-file']);
    const dataDir = this.dataDir(flags);
    const file = databaseFile(dataDir);
    prepareDataDir(dataDir);

    const db = openDatabase(file);
    try {
      const { live, plan } = pendingMigration(db, declared);
      const result = { database: file, schemaHash: declared.hash, steps: plan.steps };
      if (live.tables.length === 0) {
        // A new (or empty) database: nothing to lose, so the whole declared schema goes in.
        applyMigration(db, plan, { allowDestructive: false, actor: resolveActor(undefined) });
        this.log(`Created ${displayPath(file)}: ${describeCreation(plan)}.`);
        return { ...result, created: true };
      }
      if (plan.steps.length === 0) {
        this.log(
          `Nothing to do: DB is up to date with ${declared.label} (schema ${shortHash(declared.hash)}).`,
        );
        return { ...result, created: false };
      }
      throw new RmmError(
        'database',
        `${displayPath(file)} exists but differs from ${declared.label}; init changed nothing`,
        {
          details: [
            ...renderSteps(plan, { color: false }).map((l) => l.trim()),
            'review the changes: rmm db plan',
            'make them: rmm db apply',
          ],
        },
      );
    } finally {
      db.close();
    }
  }
}
