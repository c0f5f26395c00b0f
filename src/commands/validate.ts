import { Flags } from '@oclif/core';
import { RmmCommand, unknownTransportsFlags } from '../base-command.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { errorCount } from '../diagnostics/diagnostic.js';
import { ExitCode } from '../errors.js';
import { resolveDataDir } from '../paths.js';
import { transportChecks } from '../transports/registry.js';
import { validateInputs } from '../validate.js';
import { colorEnabled } from '../views/color.js';
import { renderValidation } from '../views/diagnostics.js';

export default class Validate extends RmmCommand {
  static override summary =
    "Check resource YAML against the kinds' schemas and each other, without touching the database.";

  static override description = [
    "Reads resource documents (Relay, Site, Policy, DeviceGroup, Device, NotificationChannel, AlertRoute; one or many per file, separated by ---) from files, directories or stdin, checks each against its kind's JSON Schema, then checks the references between them: unknown sites, groups, policies, channels and relays, duplicate names, cycles in group parents, devices in groups scoped to another site, via: relay where a site has no relay, and anything that looks like an inline secret.",
    "A Policy's monitors are checked against the metric catalogue (docs/monitoring.md): the metric, the labels its match names, the threshold's range, and intervals of at least 10s; a `for` shorter than the interval is a warning. Two policies that reach a device through groups neither above the other and monitor the same series are an error at the device.",
    "Transport blocks are checked against the options schema of the installed plugin their type names, and each device's block as it will be used, over its site's default of the same type (a block without type takes the site default's, else ssh). A type no installed plugin provides is an error with a did-you-mean, unless --allow-unknown-transports.",
    'Every problem is reported at once, one per line, as FILE:LINE:COLUMN: Kind/name: message. References resolve among the documents given only; the default site "main" always exists. The database is never opened, so a file that names a site or group applied from other files is reported here, while `rmm plan` and `rmm apply` also resolve references against what the database holds.',
    'Exit codes: 0 all valid, 1 any problem, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    { description: 'Check one file.', command: '<%= config.bin %> <%= command.id %> -f site.yaml' },
    {
      description:
        'Check a whole repository of YAML, subdirectories included, with the shipped policies it uses.',
      command: '<%= config.bin %> <%= command.id %> -f policies -f examples -R',
    },
    {
      description: 'Check what another tool generates.',
      command: 'generate-devices | <%= config.bin %> <%= command.id %> -f -',
    },
    {
      description: 'Devices for a transport plugin installed only on the console (a warning, not an error).',
      command: '<%= config.bin %> <%= command.id %> -f . -R --allow-unknown-transports',
    },
    {
      description: 'Problems as a JSON array (for editors and CI annotations).',
      command: '<%= config.bin %> <%= command.id %> -f . -R --json',
    },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    filename: Flags.string({
      char: 'f',
      summary: 'A file, a directory, or - for stdin. Repeat to give several.',
      multiple: true,
      required: true,
    }),
    recursive: Flags.boolean({ char: 'R', summary: 'Include subdirectories of directories given with -f.' }),
    ...unknownTransportsFlags,
  };

  async run(): Promise<Diagnostic[]> {
    const { flags } = await this.parse(Validate);
    const result = await validateInputs(flags.filename, {
      recursive: flags.recursive,
      transportSchemas: await transportChecks(
        this.config,
        flags['allow-unknown-transports'],
        resolveDataDir(undefined),
      ),
    });
    if (errorCount(result.diagnostics) > 0) process.exitCode = ExitCode.error;
    if (!this.jsonEnabled()) this.log(renderValidation(result, colorEnabled()));
    return result.diagnostics;
  }
}
