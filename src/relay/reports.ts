import { createHmac } from 'node:crypto';
import type { ActionResult, ActionStatus } from '../actions/store.js';

/**
 * The reports a relay sends the console (docs/relay.md#the-wire-protocol), as the design fixes
 * them: `started` before an action runs, `finished` once it ended, `heartbeat` while connected.
 * Output is UTF-8 text, at most 256 KiB of each stream (the rest counted), and a whole report stays
 * under RMM_RESULTS' 1 MiB message limit even when escaping in JSON makes output grow.
 */
export const REPORT_OUTPUT_CAP_BYTES = 256 * 1024;
/** Under the stream's max_msg_size (1 MiB), with room for the headers. */
export const MAX_REPORT_BYTES = 1_000_000;
const MAX_ERROR_CHARS = 4096;

export type ReportKind = 'started' | 'finished';
export type FinishedStatus = Exclude<ActionStatus, 'Pending' | 'Running'> | 'Expired';

export interface Output {
  text: string;
  dropped: number;
}

/** The first `cap` bytes as text (a split character at the cut is dropped too), and what was left out. */
export function capText(bytes: Buffer, cap = REPORT_OUTPUT_CAP_BYTES): Output {
  if (bytes.length <= cap) return { text: bytes.toString('utf8'), dropped: 0 };
  let end = cap;
  // Back off to the start of a UTF-8 character: at most 3 continuation bytes.
  for (let i = 0; i < 3 && end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80; i++) end--;
  return { text: bytes.subarray(0, end).toString('utf8'), dropped: bytes.length - end };
}

/**
 * The message ids of a relay's reports: `<actionId>.<kind>.<tag>`, the tag an HMAC of the first
 * part keyed by the relay's NATS password. JetStream's duplicate window is one per stream, across
 * its subjects: with ids anyone can compute, another relay that learnt an ActionId could publish
 * under the real report's id on its own subject first and have the real one dropped as a
 * duplicate. The tag is the same at every try (and after a restart), so repeats still dedupe.
 */
export function reportMsgIds(key: string | Buffer): (actionId: string, kind: ReportKind) => string {
  return (actionId, kind) => {
    const tag = createHmac('sha256', key).update(`${actionId}.${kind}`).digest('base64url').slice(0, 22);
    return `${actionId}.${kind}.${tag}`;
  };
}

export function startedReport(actionId: string, atMs: number): string {
  return JSON.stringify({ v: 1, kind: 'started', actionId, at: new Date(atMs).toISOString() });
}

export interface Finished {
  status: FinishedStatus;
  exitCode?: number;
  stdout?: Output;
  stderr?: Output;
  error?: string;
  durationMs: number;
}

export function finishedReport(actionId: string, atMs: number, finished: Finished): string {
  let stdout = finished.stdout;
  let stderr = finished.stderr;
  // Bounded: each round halves what is kept; eight rounds leave at most 2 KiB of each.
  for (let round = 0; round < 8; round++) {
    const body = JSON.stringify({
      v: 1,
      kind: 'finished',
      actionId,
      at: new Date(atMs).toISOString(),
      status: finished.status,
      ...(finished.exitCode === undefined ? {} : { exitCode: finished.exitCode }),
      ...(stdout ? { stdout: stdout.text, stdoutDropped: stdout.dropped } : {}),
      ...(stderr ? { stderr: stderr.text, stderrDropped: stderr.dropped } : {}),
      ...(finished.error === undefined ? {} : { error: finished.error.slice(0, MAX_ERROR_CHARS) }),
      durationMs: Math.max(0, Math.round(finished.durationMs)),
    });
    if (Buffer.byteLength(body) <= MAX_REPORT_BYTES) return body;
    stdout = stdout && halve(stdout);
    stderr = stderr && halve(stderr);
  }
  return finishedReport(actionId, atMs, {
    ...finished,
    stdout: { text: '', dropped: Buffer.byteLength(finished.stdout?.text ?? '') },
    stderr: { text: '', dropped: Buffer.byteLength(finished.stderr?.text ?? '') },
  });
}

function halve(output: Output): Output {
  const bytes = Buffer.from(output.text);
  const kept = capText(bytes, Math.floor(bytes.length / 2));
  return { text: kept.text, dropped: output.dropped + kept.dropped };
}

/** A finished report from an Actions row's Result (what a crash left without a report). */
export function finishedFromResult(status: FinishedStatus, result: ActionResult): Finished {
  const out = (text: string | undefined, dropped: number | undefined) =>
    text === undefined ? undefined : { text, dropped: dropped ?? 0 };
  const finished: Finished = { status, durationMs: result.durationMs };
  if (result.exitCode !== undefined) finished.exitCode = result.exitCode;
  const stdout = out(result.stdout, result.stdoutDropped);
  const stderr = out(result.stderr, result.stderrDropped);
  if (stdout) finished.stdout = stdout;
  if (stderr) finished.stderr = stderr;
  if (result.error !== undefined) finished.error = result.error;
  return finished;
}

export function heartbeatReport(
  atMs: number,
  detail: { version: string; running: number; waiting: number },
): string {
  return JSON.stringify({ v: 1, kind: 'heartbeat', at: new Date(atMs).toISOString(), detail });
}
