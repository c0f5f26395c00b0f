import { readPayload } from '../actions/jobs.js';
import type { Lease } from '../actions/queries.js';
import type { ActionResult, ActionRow } from '../actions/store.js';
import { printable, printableLines } from '../printable.js';
import { type Column, textTable } from './table.js';
import { isoTime as iso } from './time.js';

/**
 * Actions rows for people (`rmm actions list` table, `rmm actions show` text) and for programs
 * (`-o json`). Times are UTC: in JSON as ISO 8601 with Z; in tables as stored ('YYYY-MM-DD HH:MM:SS').
 */

/** One row of `rmm actions list -o json`: everything but the output, which show gives. */
export function actionSummary(row: ActionRow) {
  const result = readResult(row.Result);
  return {
    id: row.ActionId,
    device: row.DeviceId,
    type: row.ActionType,
    status: row.Status,
    priority: row.Priority,
    command: readPayload(row.Payload).command ?? null,
    scheduledAt: iso(row.ScheduledAt),
    createdAt: iso(row.CreatedAt),
    createdBy: row.CreatedBy,
    startedAt: iso(row.StartedAt),
    completedAt: iso(row.CompletedAt),
    exitCode: result?.exitCode ?? null,
    error: result?.error ?? null,
  };
}

/** `rmm actions show -o json`: the row, its payload and its full result, and its runner if Running. */
export function actionDetail(row: ActionRow, lease: Lease | undefined) {
  return {
    id: row.ActionId,
    device: row.DeviceId,
    type: row.ActionType,
    status: row.Status,
    priority: row.Priority,
    payload: parseJson(row.Payload),
    scheduledAt: iso(row.ScheduledAt),
    createdAt: iso(row.CreatedAt),
    createdBy: row.CreatedBy,
    startedAt: iso(row.StartedAt),
    completedAt: iso(row.CompletedAt),
    result: readResult(row.Result) ?? null,
    runner: lease ? { pid: lease.RunnerPid, host: lease.RunnerHost, leasedAt: iso(lease.LeasedAt) } : null,
  };
}

export function actionTable(rows: readonly ActionRow[]): string {
  const columns: Array<Column<ActionRow>> = [
    ['ID', (r) => r.ActionId],
    ['DEVICE', (r) => r.DeviceId ?? ''],
    ['TYPE', (r) => r.ActionType],
    ['STATUS', (r) => r.Status],
    ['PRI', (r) => String(r.Priority ?? '')],
    ['DUE (UTC)', (r) => r.ScheduledAt ?? ''],
    ['CREATED (UTC)', (r) => r.CreatedAt ?? ''],
    ['RESULT', (r) => outcome(r)],
  ];
  return textTable(columns, rows);
}

export function actionText(detail: ReturnType<typeof actionDetail>): string {
  const payload = (detail.payload ?? {}) as Record<string, unknown>;
  const result = detail.result;
  // Values come from the queue and devices: escaped, each field one line (src/printable.ts).
  const field = (label: string, value: unknown) =>
    value === null || value === undefined || value === ''
      ? []
      : [`${`${label}:`.padEnd(11)} ${printable(String(value))}`];
  const seconds = (ms: unknown) => (typeof ms === 'number' ? `${(ms / 1000).toFixed(2)} s` : undefined);
  const lines = [
    ...field('Action', detail.id),
    ...field('Device', detail.device),
    ...field('Type', detail.type),
    ...field('Status', detail.status),
    ...field('Priority', detail.priority),
    ...field('Command', payload.command),
    ...field('Timeout', typeof payload.timeoutMs === 'number' ? `${payload.timeoutMs / 1000} s` : undefined),
    ...field('Created', detail.createdAt && `${detail.createdAt} by ${detail.createdBy ?? '?'}`),
    ...field('Due', detail.scheduledAt),
    ...field('Started', detail.startedAt),
    ...field('Completed', detail.completedAt),
    ...field(
      'Runner',
      detail.runner && `pid ${detail.runner.pid} on ${detail.runner.host} since ${detail.runner.leasedAt}`,
    ),
    ...field('Duration', seconds(result?.durationMs)),
    ...field('Exit code', result?.exitCode),
    ...field('Error', result?.error),
    ...field('Note', result?.note),
  ];
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = result?.[stream];
    if (!text) continue;
    const dropped = result?.[stream === 'stdout' ? 'stdoutDropped' : 'stderrDropped'];
    lines.push(`--- ${stream}${dropped ? ` (first 64 KiB; ${dropped} more bytes not kept)` : ''}`);
    lines.push(printableLines(text.replace(/\n$/, '')));
  }
  return lines.join('\n');
}

/** How a row ended, in a few words: `exit 0`, or the error cut to fit a table. */
function outcome(row: ActionRow): string {
  const result = readResult(row.Result);
  if (!result) return '';
  if (result.exitCode !== undefined) return `exit ${result.exitCode}`;
  const error = result.error ?? '';
  return error.length > 60 ? `${error.slice(0, 59)}…` : error;
}

function readResult(text: string | null): ActionResult | undefined {
  const value = parseJson(text);
  return typeof value === 'object' && value !== null ? (value as ActionResult) : undefined;
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
