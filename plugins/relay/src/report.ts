import type { QueuedReport } from 'rmm/plugin';
import { OUTPUT_CAP_BYTES, RESULTS_MAX_MSG_BYTES, WIRE_VERSION } from './wire.js';

/**
 * A relay's report read as untrusted input: whoever holds a relay's credentials can publish
 * anything on its results subject. Every field is checked for type, form and size, unknown keys
 * are refused, and anything wrong becomes `{kind: 'invalid', problem}`: this never throws, so one
 * bad message can neither stop collecting nor come back forever (the core acks it).
 */
export function parseReport(data: Uint8Array, now: Date): QueuedReport {
  const problem = (text: string): QueuedReport => ({ kind: 'invalid', at: now.toISOString(), problem: text });
  if (data.byteLength > RESULTS_MAX_MSG_BYTES)
    return problem(`the report is ${data.byteLength} bytes, over the cap of ${RESULTS_MAX_MSG_BYTES}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return problem('the report is not UTF-8 text');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return problem('the report is not JSON');
  }
  try {
    return readReport(body);
  } catch (error) {
    if (error instanceof ReportProblem) return problem(error.message);
    return problem('the report could not be read');
  }
}

class ReportProblem extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const STATUSES = ['Succeeded', 'Failed', 'TimedOut', 'Unreachable', 'Expired', 'Cancelled'] as const;
type FinishedStatus = (typeof STATUSES)[number];
/** What an error text needs: the relay's own words about a failure, not an output. */
const ERROR_CAP_CHARS = 16 * 1024;
const VERSION_CAP_CHARS = 64;
/** A month: no action runs longer (timeouts are capped far below). */
const DURATION_CAP_MS = 31 * 86_400_000;
/** Windows exit codes are unsigned 32-bit; POSIX ones 0..255; some tools report negatives. */
const EXIT_CODE_MIN = -2_147_483_648;
const EXIT_CODE_MAX = 4_294_967_295;
const COUNT_MAX = 1_000_000;

const KEYS = {
  started: ['v', 'kind', 'actionId', 'at'],
  finished: [
    'v',
    'kind',
    'actionId',
    'at',
    'status',
    'exitCode',
    'stdout',
    'stderr',
    'stdoutDropped',
    'stderrDropped',
    'error',
    'durationMs',
  ],
  heartbeat: ['v', 'kind', 'at', 'detail'],
} as const;
const DETAIL_KEYS = ['version', 'running', 'waiting'];

function readReport(body: unknown): QueuedReport {
  const o = object(body, 'the report');
  if (o.v !== WIRE_VERSION) throw new ReportProblem(`v must be ${WIRE_VERSION}, not ${shown(o.v)}`);
  const kind = o.kind;
  if (kind !== 'started' && kind !== 'finished' && kind !== 'heartbeat')
    throw new ReportProblem(`kind must be started, finished or heartbeat, not ${shown(kind)}`);
  onlyKeys(o, KEYS[kind], `a ${kind} report`);
  const at = isoTime(o.at, 'at');
  if (kind === 'heartbeat') {
    if (o.detail === undefined) return { kind, at };
    return { kind, at, detail: heartbeatDetail(o.detail) };
  }
  const actionId = uuid(o.actionId);
  if (kind === 'started') return { kind, actionId, at };
  if (!STATUSES.includes(o.status as FinishedStatus))
    throw new ReportProblem(`status must be one of ${STATUSES.join(', ')}, not ${shown(o.status)}`);
  const report: QueuedReport = {
    kind,
    actionId,
    at,
    status: o.status as FinishedStatus,
    durationMs: integer(o.durationMs, 'durationMs', 0, DURATION_CAP_MS),
  };
  if (o.exitCode !== undefined)
    report.exitCode = integer(o.exitCode, 'exitCode', EXIT_CODE_MIN, EXIT_CODE_MAX);
  if (o.stdout !== undefined) report.stdout = output(o.stdout, 'stdout');
  if (o.stderr !== undefined) report.stderr = output(o.stderr, 'stderr');
  if (o.stdoutDropped !== undefined)
    report.stdoutDropped = integer(o.stdoutDropped, 'stdoutDropped', 0, Number.MAX_SAFE_INTEGER);
  if (o.stderrDropped !== undefined)
    report.stderrDropped = integer(o.stderrDropped, 'stderrDropped', 0, Number.MAX_SAFE_INTEGER);
  if (o.error !== undefined) report.error = text(o.error, 'error', ERROR_CAP_CHARS);
  return report;
}

function heartbeatDetail(value: unknown): Record<string, unknown> {
  const d = object(value, 'detail');
  onlyKeys(d, DETAIL_KEYS, 'detail');
  const detail: Record<string, unknown> = {};
  if (d.version !== undefined) detail.version = text(d.version, 'detail.version', VERSION_CAP_CHARS);
  if (d.running !== undefined) detail.running = integer(d.running, 'detail.running', 0, COUNT_MAX);
  if (d.waiting !== undefined) detail.waiting = integer(d.waiting, 'detail.waiting', 0, COUNT_MAX);
  return detail;
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ReportProblem(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], what: string): void {
  const unknown = Object.keys(o).find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw new ReportProblem(`${what} has an unknown key ${shown(unknown)}`);
}

function uuid(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value))
    throw new ReportProblem(`actionId must be a UUID, not ${shown(value)}`);
  return value.toLowerCase();
}

function isoTime(value: unknown, field: string): string {
  if (
    typeof value !== 'string' ||
    !ISO.test(value) ||
    !realDate(value) ||
    !Number.isFinite(Date.parse(value))
  )
    throw new ReportProblem(`${field} must be an ISO 8601 time, not ${shown(value)}`);
  return new Date(value).toISOString();
}

/** Date.parse accepts February 30th (as March 2nd): the calendar date is checked on its own. */
function realDate(value: string): boolean {
  const [y, m, d] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d && m >= 1 && m <= 12;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new ReportProblem(`${field} must be an integer from ${min} to ${max}, not ${shown(value)}`);
  return value;
}

function output(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ReportProblem(`${field} must be a string`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > OUTPUT_CAP_BYTES)
    throw new ReportProblem(`${field} is ${bytes} bytes, over the cap of ${OUTPUT_CAP_BYTES}`);
  return value;
}

function text(value: unknown, field: string, cap: number): string {
  if (typeof value !== 'string') throw new ReportProblem(`${field} must be a string`);
  if (value.length > cap)
    throw new ReportProblem(`${field} is ${value.length} characters, over the cap of ${cap}`);
  return value;
}

/** A value as a message may show it: short, on one line. */
function shown(value: unknown): string {
  if (value === undefined) return 'missing';
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
