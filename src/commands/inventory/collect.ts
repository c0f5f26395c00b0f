import { Flags } from '@oclif/core';
import { recoverStale } from '../../actions/dispatch.js';
import { type ExecPayload, toJobs } from '../../actions/jobs.js';
import { runActions } from '../../actions/runner.js';
import { actionStore } from '../../actions/store.js';
import { selectDevices } from '../../actions/targets.js';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { ExitCode } from '../../errors.js';
import { LINUX_COLLECTOR, observedOs, parseLinuxInventory } from '../../inventory/linux.js';
import { inventoryStore } from '../../inventory/store.js';
import { openResourceDatabase, resolveActor } from '../../reconcile.js';
import { loadTransports } from '../../transports/registry.js';
import { writeLines } from '../../views/output.js';

export default class InventoryCollect extends RmmCommand {
  static override summary = 'Collect OS, kernel, CPU, memory, disks and network from the selected devices.';

  static override description = [
    "Runs the collector for each device's OS through its transport, as an Actions row of type inventory, and stores one Inventory row per category (os, kernel, hostname, cpu, memory, disks, network) with its data as JSON. The device's observed fields follow: LastSeen, LastInventory, Status Online, OSName, OSVersion, OSBuild; a device that does not answer becomes Offline. `rmm get devices` shows them; `rmm apply` never changes them.",
    'Linux and macOS-like devices (os linux, or unset) get the POSIX collector. Windows collectors come with the WinRM transport; Windows devices end Failed until then.',
    'Selectors as for rmm exec. Exit codes: 0 every device inventoried, 1 some were not, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Inventory of site alpha.',
      command: '<%= config.bin %> <%= command.id %> --target site=alpha',
    },
  ];

  static override flags = {
    ...dataDirFlags,
    target: Flags.string({
      char: 't',
      summary: 'Which devices (as for rmm exec). Repeat to add.',
      multiple: true,
      required: true,
    }),
    concurrency: Flags.integer({
      char: 'c',
      summary: 'At most this many at once per transport.',
      default: 200,
      min: 1,
    }),
    timeout: Flags.integer({ summary: 'Seconds the collector may run on a device.', default: 60, min: 1 }),
    'connect-timeout': Flags.integer({ summary: 'Seconds to wait for a connection.', default: 15, min: 1 }),
    actor: Flags.string({ summary: 'Who runs it, for Actions.CreatedBy and AuditLog.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(InventoryCollect);
    const { db } = openResourceDatabase(this.dataDir(flags));
    try {
      db.pragma('synchronous = NORMAL');
      const store = actionStore(db, resolveActor(flags.actor));
      recoverStale(db, store);
      const devices = selectDevices(db, flags.target);
      const registry = await loadTransports(this.config);
      for (const line of registry.refused) this.logToStderr(`Refused: ${line}`);
      const payload: ExecPayload = {
        command: LINUX_COLLECTOR,
        timeoutMs: flags.timeout * 1000,
        connectTimeoutMs: flags['connect-timeout'] * 1000,
      };
      const posix = devices.filter((d) => d.os !== 'windows');
      const windows = devices.filter((d) => d.os === 'windows');
      const ids = store.create(
        'inventory',
        posix.map((d) => d.name),
        payload,
        { priority: 5 },
      );
      const jobs = toJobs(store.load(ids), new Map(posix.map((d) => [d.name, d])));
      const inventories = inventoryStore(db);
      const lines: string[] = [];
      const summary = await runActions(jobs, {
        registry,
        store,
        concurrency: flags.concurrency,
        unstarted: 'cancel',
        signal: new AbortController().signal,
        onEvent: (event) => {
          if (event.status === 'Succeeded') {
            // The collector's output is a few KB, well under the 64 KiB kept per stream.
            const inventory = parseLinuxInventory(event.stdout ?? '');
            inventories.save(event.device, inventory, observedOs(inventory));
            lines.push(
              `${event.device}: ${inventory.os.prettyName ?? inventory.os.name ?? 'unknown OS'}, kernel ${inventory.kernel.release ?? '?'}`,
            );
          } else if (event.status === 'Unreachable') {
            inventories.unreachable(event.device);
            lines.push(`${event.device}: Unreachable (${event.error ?? ''}); now Offline`);
          } else if (event.status !== 'Running') {
            lines.push(`${event.device}: ${event.status} (${event.error ?? `exit ${event.exitCode}`})`);
          }
        },
      });
      for (const device of windows)
        lines.push(`${device.name}: Failed (no Windows collector yet: it comes with the WinRM transport)`);
      writeLines(lines.sort());
      const failed = jobs.length - summary.Succeeded + windows.length;
      this.log(`\nInventory complete: ${summary.Succeeded} collected, ${failed} not.`);
      if (failed > 0) process.exitCode = ExitCode.error;
    } finally {
      db.close();
    }
  }
}
