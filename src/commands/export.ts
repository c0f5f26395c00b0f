import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { dataDirFlags, RmmCommand } from '../base-command.js';
import { toResource } from '../engine/to-resource.js';
import { RmmError } from '../errors.js';
import { KINDS, type Kind } from '../resources/kinds.js';
import { openResourceDatabase } from '../state/resource-database.js';
import { readStoredResources } from '../state/resource-store.js';
import { yamlText } from '../views/yaml-text.js';

const FILE_OF: Record<Kind, string> = {
  Relay: 'relays.yaml',
  Site: 'sites.yaml',
  Policy: 'policies.yaml',
  DeviceGroup: 'groups.yaml',
  Device: 'devices.yaml',
  NotificationChannel: 'channels.yaml',
  AlertRoute: 'routes.yaml',
};

export default class Export extends RmmCommand {
  static override summary = 'Write the resources rmm manages back out as YAML.';

  static override description = [
    'Reads every resource rmm manages from the database and writes it as the YAML you would have written: unset fields and defaults left out, observed fields (Status, LastSeen, OS details) never included. `rmm plan` on the output shows no changes.',
    'With --dir DIR, one file per kind (sites.yaml, policies.yaml, groups.yaml, devices.yaml, channels.yaml, routes.yaml, relays.yaml); without, one stream on stdout.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Start a GitOps repository from an existing console.',
      command: '<%= config.bin %> <%= command.id %> --dir fleet',
    },
    { description: 'Everything on stdout.', command: '<%= config.bin %> <%= command.id %> > fleet.yaml' },
  ];

  static override flags = {
    ...dataDirFlags,
    // No short form, and not -o/--output, which is the output format elsewhere.
    dir: Flags.directory({ summary: 'Directory to write one file per kind into (created if missing).' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Export);
    const { db } = openResourceDatabase(this.dataDir(flags), { readonly: true });
    let stored: ReturnType<typeof readStoredResources>;
    try {
      stored = readStoredResources(db).filter((r) => r.managed);
    } finally {
      db.close();
    }
    const byKind = new Map<Kind, string[]>(KINDS.map((k) => [k, []]));
    for (const view of stored) byKind.get(view.kind)?.push(yamlText(toResource(view)));
    if (!flags.dir) {
      this.log(
        KINDS.flatMap((k) => byKind.get(k) ?? [])
          .join('---\n')
          .trimEnd(),
      );
      return;
    }
    const output = flags.dir;
    const failed = (error: unknown): never => {
      throw new RmmError(
        'invalid-input',
        `cannot write the export to ${output}: ${(error as Error).message}`,
      );
    };
    await mkdir(output, { recursive: true }).catch(failed);
    for (const kind of KINDS) {
      const docs = byKind.get(kind) ?? [];
      if (docs.length > 0)
        await writeFile(path.join(output, FILE_OF[kind]), docs.join('---\n')).catch(failed);
    }
    this.logToStderr(`Exported ${stored.length} resources to ${output}.`);
  }
}
