import { Flags } from '@oclif/core';
import { type ExecPayload, toJobs } from '../../actions/jobs.js';
import { parseAt } from '../../actions/schedule.js';
import { selectDevices } from '../../actions/targets.js';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { dispatch, openRunnerQueue } from '../../cli/dispatch.js';
import { queueingFlags, runnerFlags } from '../../cli/runner-flags.js';
import { collectorPayload } from '../../inventory/collectors.js';
import { showQueued } from '../../views/queued.js';

export default class InventoryCollect extends RmmCommand {
  static override summary =
    'Collect OS, hardware, disks, network (and on Windows, installed software) from the selected devices.';

  static override description = [
    "Runs the collector for each device's OS through its transport, as an Actions row of type inventory, and stores one Inventory row per category with its data as JSON. The device's observed fields follow: LastSeen, LastInventory, Status Online, OSName, OSVersion, OSBuild; a device that does not answer becomes Offline. `rmm get devices` shows them; `rmm apply` never changes them.",
    'Windows devices (os windows) get a PowerShell collector (collectors/windows/inventory.ps1; Windows PowerShell 5.1, read-only): categories os, hardware, disks, network, software. macOS devices (os macos) get a POSIX sh collector of their own (sw_vers, sysctl, vm_stat, df, ifconfig, system_profiler): os, kernel, hostname, cpu, memory, disks, network, hardware. Other devices get the Linux one (/etc/os-release, /proc): os, kernel, hostname, cpu, memory, disks, network.',
    "Output as for rmm exec: each device as it ends (with what was found), a live line of counts on a terminal, NDJSON with --json. Ctrl-C, SIGTERM and SIGHUP cancel; the rows are this command's own, never run by rmm actions run. Queued inventory actions are run by rmm actions run like any other.",
    'Selectors as for rmm exec. Exit codes: 0 every device inventoried, 1 some were not, 5 the database stayed locked (as for rmm exec), 64 bad flags, 130 cancelled.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Inventory of site alpha.',
      command: '<%= config.bin %> <%= command.id %> --target site=alpha',
    },
    {
      description:
        'Queue a nightly inventory of every device for 2:00 UTC (rmm actions run, from cron, runs it).',
      command: '<%= config.bin %> <%= command.id %> --target name=* --at 2026-11-27T02:00:00Z',
    },
  ];

  static override flags = {
    ...dataDirFlags,
    ...queueingFlags,
    ...runnerFlags,
    timeout: Flags.integer({ summary: 'Seconds the collector may run on a device.', default: 60, min: 1 }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(InventoryCollect);
    const at = flags.at === undefined ? undefined : parseAt(flags.at);
    const { db, store, credentials } = openRunnerQueue(this.dataDir(flags), flags.actor);
    try {
      const devices = selectDevices(db, flags.target);
      const limits = { timeoutMs: flags.timeout * 1000, connectTimeoutMs: flags['connect-timeout'] * 1000 };
      // One Payload per collector: devices that share a collector share its text.
      const byCommand = new Map<string, { payload: ExecPayload; names: string[] }>();
      for (const device of devices) {
        const payload = await collectorPayload(device, limits);
        const key = payload.command; // one collector text per OS
        const entry = byCommand.get(key) ?? { payload, names: [] };
        entry.names.push(device.name);
        byCommand.set(key, entry);
      }
      const queued = [...byCommand.values()].flatMap(({ payload, names }) =>
        store
          .create('inventory', names, payload, { priority: 5, scheduledAt: at?.utc ?? null, owned: !at })
          .map((id, i) => ({ id, device: names[i] as string })),
      );
      const ids = queued.map((q) => q.id);
      if (at)
        return showQueued(
          ids,
          queued.map((q) => q.device),
          at.utc,
          flags.json,
        );
      const jobs = toJobs(store.load(ids), new Map(devices.map((d) => [d.name, d])));
      process.exitCode = await dispatch(jobs, {
        credentials,
        config: this.config,
        dataDir: this.dataDir(flags),
        db,
        store,
        concurrency: flags.concurrency,
        json: flags.json,
        label: 'Inventory complete',
        unstarted: 'cancel',
      });
    } finally {
      db.close();
    }
  }
}
