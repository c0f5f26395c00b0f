import { powershellInvocation } from './powershell.js';
import type { ActionRow } from './store.js';
import type { DeviceRecord } from './targets.js';

/**
 * What a runner needs to run one queued row: the row's command and limits from its Payload, and its
 * device as the database describes it now. `rmm exec` and `rmm actions run` both build their jobs
 * here from the rows they run, so a row queued by one runs the same way under the other.
 */
export interface ExecPayload {
  command: string;
  /** The command is a PowerShell script, for Windows devices (rmm exec --powershell). */
  powershell?: boolean;
  /** Seconds a command may run, in ms (rmm exec --timeout). */
  timeoutMs: number;
  /** Seconds a connection may take, in ms (rmm exec --connect-timeout). */
  connectTimeoutMs: number;
}

export interface Job {
  id: string;
  /** Actions.DeviceId: the device's name. */
  deviceName: string;
  type: string;
  /** Absent when the device is no longer in the database. */
  device?: DeviceRecord;
  command: string;
  /** What the command reads on stdin (a long PowerShell script, see powershell.ts). */
  stdin?: string;
  /** A PowerShell script: its error output may come as CLIXML, which is made readable. */
  powershell?: boolean;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Why the row cannot run (device gone, unreadable payload): it ends Failed with this. */
  problem?: string;
}

export const DEFAULT_TIMEOUT_MS = 300_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;

/** How many times a connection is tried (the runner retries failures before anything was sent). */
export const CONNECT_ATTEMPTS = 3;

export function toJobs(rows: readonly ActionRow[], devices: ReadonlyMap<string, DeviceRecord>): Job[] {
  return rows.map((row) => {
    const deviceName = row.DeviceId ?? '';
    const payload = readPayload(row.Payload);
    const job: Job = {
      id: row.ActionId,
      deviceName,
      type: row.ActionType,
      command: payload.command ?? '',
      timeoutMs: payload.timeoutMs,
      connectTimeoutMs: payload.connectTimeoutMs,
    };
    const device = devices.get(deviceName);
    if (device) job.device = device;
    if (payload.problem) job.problem = payload.problem;
    else if (!device) job.problem = `device ${JSON.stringify(deviceName)} is no longer in the database`;
    else if (payload.powershell && device.os !== 'windows')
      job.problem = `a PowerShell action needs a Windows device (spec.os: windows); ${deviceName} is ${device.os ?? 'of no declared OS'}`;
    else if (payload.powershell) Object.assign(job, powershellInvocation(job.command), { powershell: true });
    return job;
  });
}

/** The Payload's fields, with defaults for limits a hand-written row leaves out. */
export function readPayload(
  text: string | null,
): Partial<ExecPayload> & Pick<ExecPayload, 'timeoutMs' | 'connectTimeoutMs'> & { problem?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text ?? 'null');
  } catch {
    value = undefined;
  }
  const p = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const positive = (v: unknown, fallback: number) =>
    typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;
  const limits = {
    timeoutMs: positive(p.timeoutMs, DEFAULT_TIMEOUT_MS),
    connectTimeoutMs: positive(p.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
  };
  if (typeof p.command !== 'string' || !p.command.trim())
    return { ...limits, problem: 'the action has no command (Actions.Payload needs {"command": "..."})' };
  return { ...limits, command: p.command, ...(p.powershell === true ? { powershell: true } : {}) };
}

/**
 * The longest a live runner can hold a row: every connection attempt, the command's timeout, and a
 * minute for backoff and bookkeeping. A lease older than this belongs to a runner that stopped.
 */
export function leaseLimitMs(payload: Pick<ExecPayload, 'timeoutMs' | 'connectTimeoutMs'>): number {
  return payload.timeoutMs + CONNECT_ATTEMPTS * payload.connectTimeoutMs + 60_000;
}
