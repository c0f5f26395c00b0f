import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { RmmCommand } from '../../base-command.js';
import { RmmError } from '../../errors.js';
import { schemasDir } from '../../paths.js';
import { bundleKindSchemas } from '../../resources/bundle-schemas.js';
import { transportSchemas } from '../../transports/registry.js';

export default class SchemaExport extends RmmCommand {
  static override summary =
    'Write the JSON Schemas of the resource kinds, for editors to validate and complete YAML.';

  static override description = [
    'Writes one self-contained JSON Schema (draft 2020-12) per kind: site.schema.json, policy.schema.json, device-group.schema.json, device.schema.json, notification-channel.schema.json and alert-route.schema.json, plus resource.schema.json for files that mix kinds.',
    "The installed transport plugins' option schemas are built into the transport blocks of devices and sites (an editor completes `knownHosts` under `type: ssh`), and each is also written as transport-<type>.schema.json (rmm transports lists them).",
    'Point an editor at them with a first line such as:\n  # yaml-language-server: $schema=../schemas/device.schema.json\n(VS Code with the Red Hat YAML extension, Neovim and others read it.)',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Write the schemas into ./schemas of a GitOps repository.',
      command: '<%= config.bin %> <%= command.id %>',
    },
    {
      description: "In a clone of rmm: refresh the schemas the examples' YAML points at.",
      command: '<%= config.bin %> <%= command.id %> --dir examples/schemas',
    },
    {
      description: 'Write them somewhere else.',
      command: '<%= config.bin %> <%= command.id %> --dir .vscode/rmm-schemas',
    },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    // No short form, and not -o/--output, which is the output format elsewhere.
    dir: Flags.string({ summary: 'Directory to write into (created if missing).', default: 'schemas' }),
  };

  async run(): Promise<{ directory: string; files: string[] }> {
    const { flags } = await this.parse(SchemaExport);
    const directory = path.resolve(flags.dir);
    if (directory === schemasDir) {
      throw new RmmError(
        'usage',
        `refusing to overwrite rmm's own schema sources in ${directory}; choose another directory with --dir (in a clone of rmm, the examples' YAML points at examples/schemas)`,
      );
    }
    const failed = (error: unknown): never => {
      throw new RmmError(
        'invalid-input',
        `cannot write the schemas to ${flags.dir}: ${(error as Error).message}`,
      );
    };
    await mkdir(directory, { recursive: true }).catch(failed);
    const files: string[] = [];
    for (const [name, schema] of bundleKindSchemas(await transportSchemas(this.config))) {
      const file = path.join(directory, name);
      // Renamed into place, so an editor (or a test) reading the schema never sees half of it.
      await writeFile(`${file}.tmp`, `${JSON.stringify(schema, null, 2)}\n`).catch(failed);
      await rename(`${file}.tmp`, file).catch(failed);
      files.push(file);
    }
    if (!this.jsonEnabled())
      this.log(
        `Wrote ${files.length} schemas to ${path.relative(process.cwd(), directory) || '.'}:\n${files.map((f) => `  ${path.basename(f)}`).join('\n')}`,
      );
    return { directory, files };
  }
}
