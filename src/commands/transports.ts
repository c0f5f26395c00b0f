import { RmmCommand } from '../base-command.js';
import { loadTransports } from '../transports/registry.js';

export interface TransportsJson {
  transports: Array<{
    name: string;
    plugin: string;
    description: string;
    defaultPort: number;
    batchSize: number;
    capabilities: { powershell: boolean; fileTransfer: boolean; queued: boolean };
  }>;
  refused: string[];
}

export default class Transports extends RmmCommand {
  static override summary = 'List the transports the installed plugins provide.';

  static override description = [
    "A Device's spec.transport.type names one of these. Transports come from oclif plugins (the built-in ones in plugins/ included) through the rmm:transports hook; `rmm plugins` installs more.",
    'A plugin whose hook fails or returns something that is not a transport (API version 1) is listed as refused, with the reason, on stderr; the others still work.',
  ].join('\n\n');

  static override examples = [
    { description: 'What can reach devices here.', command: '<%= config.bin %> <%= command.id %>' },
    { description: 'As JSON.', command: '<%= config.bin %> <%= command.id %> --json' },
  ];

  static override enableJsonFlag = true;

  async run(): Promise<TransportsJson> {
    const { transports, refused } = await loadTransports(this.config);
    const rows = [...transports.values()]
      .sort((a, b) => a.transport.name.localeCompare(b.transport.name))
      .map(({ transport: t, plugin }) => ({
        name: t.name,
        plugin,
        description: t.description,
        defaultPort: t.defaultPort,
        batchSize: t.batchSize,
        capabilities: { ...t.capabilities },
      }));
    for (const line of refused) this.logToStderr(`Refused: ${line}`);
    if (rows.length === 0) this.log('No transports installed.');
    for (const r of rows) {
      const caps = Object.entries(r.capabilities)
        .filter(([, on]) => on)
        .map(([k]) => k);
      this.log(
        `${r.name.padEnd(8)} port ${String(r.defaultPort).padEnd(5)} batch ${String(r.batchSize).padEnd(4)} ${caps.join(', ') || '-'}  (${r.plugin})\n         ${r.description}`,
      );
    }
    return { transports: rows, refused };
  }
}
