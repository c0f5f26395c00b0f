import type { QueuedReport } from '../plugin/api.js';
import type { Job } from './jobs.js';
import type { QueuedRow, QueueKey, QueueStore } from './queue-store.js';
import type { ActionEvent, ActionHooks } from './runner.js';
import { type ActionResult, type ActionStatus, capOutput } from './store.js';
import type { DeviceRecord } from './targets.js';

/**
 * What one report from a route does to the queue: pure of I/O beyond the store it is given, called
 * inside the transaction of its batch. Reports are untrusted: a report about an ActionId that was
 * not delivered through this route changes nothing and is audited; one about a row that already
 * ended (a late report, a duplicate) is audited only. The same hooks as direct runs see a finished
 * action's full output (inventory stores what it found).
 */
export interface ApplyContext {
  queue: QueueStore;
  hooks: ActionHooks | undefined;
  /** The device records by name, read when a hook needs one. */
  devices: () => ReadonlyMap<string, DeviceRecord>;
  now: number;
}

export interface Applied {
  events: ActionEvent[];
  notices: string[];
}

export function applyReport(key: QueueKey, report: QueuedReport, context: ApplyContext): Applied {
  const out: Applied = { events: [], notices: [] };
  const where = `${key.transport}/${key.route}`;
  const { queue } = context;
  // A relay's reports arrive as it sends them; a device's queue (SMB files) keeps them, so what it
  // says is as old as the file: a consumer that stopped a day ago is not seen now.
  const deviceRoute = isDeviceRoute(key, context);
  const seenAt = deviceRoute ? reportTime(report.at, context.now) : new Date(context.now);
  queue.routeSeen(key, seenAt.getTime(), report.kind === 'heartbeat' ? (report.detail ?? {}) : undefined);
  if (report.kind === 'heartbeat') {
    if (deviceRoute) queue.deviceSeen(key.route, seenAt);
    return out;
  }
  if (report.kind === 'invalid') {
    queue.auditRefused(key, { problem: report.problem });
    out.notices.push(`${where}: a report could not be read and was dropped: ${report.problem}`);
    return out;
  }
  const refused = queue.refusal(report.actionId, key);
  if (refused) {
    const device = refused.row?.DeviceId ?? '';
    const details = { actionId: report.actionId, report: report.kind, why: refused.why };
    if (refused.why === 'ended') {
      queue.auditRefused(key, { ...details, status: refused.row?.Status }, device);
      return out;
    }
    queue.auditRefused(key, details, device);
    out.notices.push(
      refused.why === 'unknown'
        ? `${where}: refused a ${report.kind} report about ${report.actionId}, an action never delivered to it`
        : `${where}: refused a ${report.kind} report about ${report.actionId}, an action delivered through ${refused.row?.Transport}/${refused.row?.Route}`,
    );
    return out;
  }
  const row = queue.row(report.actionId) as QueuedRow;
  const device = row.DeviceId ?? '';
  if (report.kind === 'started') {
    if (queue.started(row.ActionId))
      out.events.push({ type: 'action', id: row.ActionId, device, status: 'Running' });
    return out;
  }
  const { status, result } = resultOf(row, report, context);
  if (queue.finish(row, status, result)) out.events.push(eventOf(row, status, result));
  return out;
}

function resultOf(
  row: QueuedRow,
  report: Extract<QueuedReport, { kind: 'finished' }>,
  context: ApplyContext,
): { status: ActionStatus; result: ActionResult } {
  const stdoutBytes = Buffer.from(report.stdout ?? '', 'utf8');
  const stderrBytes = Buffer.from(report.stderr ?? '', 'utf8');
  const stdout = capOutput(stdoutBytes);
  const stderr = capOutput(stderrBytes);
  const result: ActionResult = { durationMs: report.durationMs };
  if (report.exitCode !== undefined) result.exitCode = report.exitCode;
  if (report.stdout !== undefined) result.stdout = stdout.text;
  if (report.stderr !== undefined) result.stderr = stderr.text;
  const stdoutDropped = stdout.dropped + (report.stdoutDropped ?? 0);
  const stderrDropped = stderr.dropped + (report.stderrDropped ?? 0);
  if (stdoutDropped) result.stdoutDropped = stdoutDropped;
  if (stderrDropped) result.stderrDropped = stderrDropped;
  if (report.error !== undefined) result.error = report.error;
  const hook = context.hooks?.[row.ActionType];
  if (!hook || (report.status !== 'Succeeded' && report.status !== 'Unreachable'))
    return { status: report.status, result };
  const job: Job = {
    id: row.ActionId,
    deviceName: row.DeviceId ?? '',
    type: row.ActionType,
    command: '',
    timeoutMs: 0,
    connectTimeoutMs: 0,
  };
  const device = context.devices().get(job.deviceName);
  if (device) job.device = device;
  if (report.status === 'Unreachable') {
    hook.unreachable?.(job);
    return { status: report.status, result };
  }
  if (!hook.succeeded) return { status: report.status, result };
  try {
    result.note = hook.succeeded(job, {
      exitCode: report.exitCode ?? 0,
      stdout: stdoutBytes,
      stderr: stderrBytes,
    });
    return { status: 'Succeeded', result };
  } catch (error) {
    return { status: 'Failed', result: { ...result, error: (error as Error).message } };
  }
}

function eventOf(row: QueuedRow, status: ActionStatus, result: ActionResult): ActionEvent {
  const event: ActionEvent = { type: 'action', id: row.ActionId, device: row.DeviceId ?? '', status };
  event.durationMs = result.durationMs;
  if (result.exitCode !== undefined) event.exitCode = result.exitCode;
  if (result.error !== undefined) event.error = result.error;
  if (result.note !== undefined) event.note = result.note;
  else if (result.stdout !== undefined) event.stdout = result.stdout;
  if (result.stderr !== undefined) event.stderr = result.stderr;
  return event;
}

/** A device's own route (queue-routing.ts): the device of that name is of the route's transport. */
function isDeviceRoute(key: QueueKey, context: ApplyContext): boolean {
  return context.devices().get(key.route)?.transport.type === key.transport;
}

/** When the far side says it was alive: never later than now (its clock cannot keep it Online). */
function reportTime(at: string, now: number): Date {
  const t = Date.parse(at);
  return new Date(Number.isNaN(t) ? now : Math.min(t, now));
}
