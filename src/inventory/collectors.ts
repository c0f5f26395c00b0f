import type { ExecPayload } from '../actions/jobs.js';
import type { DeviceRecord } from '../actions/targets.js';
import { LINUX_COLLECTOR, type ObservedOs, observedOs, parseLinuxInventory } from './linux.js';
import { describeMacosInventory, MACOS_COLLECTOR, observedMacosOs, parseMacosInventory } from './macos.js';
import {
  describeWindowsInventory,
  loadWindowsCollector,
  observedWindowsOs,
  parseWindowsInventory,
} from './windows.js';

/**
 * Which collector a device gets, and what its output becomes. A collector is an ordinary command
 * (a POSIX sh script, or a PowerShell script for Windows) run through the device's transport as an
 * Actions row of type `inventory`; its output is parsed into one JSON value per category.
 */
export interface CollectedInventory {
  /** Category -> JSON-able data: one Inventory row each. */
  categories: Record<string, unknown>;
  observed: ObservedOs;
  /** One line for the output: what was found. */
  summary: string;
}

export type CollectorLimits = Pick<ExecPayload, 'timeoutMs' | 'connectTimeoutMs'>;

/**
 * The Payload of a device's inventory action. Windows devices get the PowerShell collector
 * (collectors/windows/inventory.ps1, sent as an encoded command), macOS devices the macOS sh one
 * (sw_vers, sysctl, system_profiler); Linux devices and devices of no declared OS the Linux one.
 */
export async function collectorPayload(device: DeviceRecord, limits: CollectorLimits): Promise<ExecPayload> {
  if (device.os === 'windows') return { command: await loadWindowsCollector(), powershell: true, ...limits };
  if (device.os === 'macos') return { command: MACOS_COLLECTOR, ...limits };
  return { command: LINUX_COLLECTOR, ...limits };
}

/** Parses a collector's output by the device's OS; throws when it is not what the collector prints. */
export function readInventory(os: DeviceRecord['os'], output: string): CollectedInventory {
  if (os === 'windows') {
    const windows = parseWindowsInventory(output);
    return {
      categories: { ...windows },
      observed: observedWindowsOs(windows),
      summary: describeWindowsInventory(windows),
    };
  }
  if (os === 'macos') {
    const macos = parseMacosInventory(output);
    return {
      categories: { ...macos },
      observed: observedMacosOs(macos),
      summary: describeMacosInventory(macos),
    };
  }
  const inventory = parseLinuxInventory(output);
  return {
    categories: { ...inventory },
    observed: observedOs(inventory),
    summary: `${inventory.os.prettyName ?? inventory.os.name ?? 'unknown OS'}, kernel ${inventory.kernel.release ?? '?'}`,
  };
}
