import type { ExecPayload } from '../actions/jobs.js';
import type { DeviceRecord } from '../actions/targets.js';
import type { ObservedOs } from './linux.js';
import { LINUX_COLLECTOR, observedOs, parseLinuxInventory } from './linux.js';

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

/** The Payload of a device's inventory action. Linux and devices of no declared OS get the POSIX collector. */
export async function collectorPayload(device: DeviceRecord, limits: CollectorLimits): Promise<ExecPayload> {
  return { command: LINUX_COLLECTOR, ...limits };
}

/** Parses a collector's output by the device's OS; throws when it is not what the collector prints. */
export function readInventory(os: DeviceRecord['os'], output: string): CollectedInventory {
  const inventory = parseLinuxInventory(output);
  return {
    categories: { ...inventory },
    observed: observedOs(inventory),
    summary: `${inventory.os.prettyName ?? inventory.os.name ?? 'unknown OS'}, kernel ${inventory.kernel.release ?? '?'}`,
  };
}
