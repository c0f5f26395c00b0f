import type { ActionEvent, Summary } from '../actions/runner.js';
import { ACTION_STATUSES, type ActionStatus, FINAL_STATUSES } from '../actions/store.js';
import { printable, printableLines } from '../printable.js';
import { writeLines } from './output.js';
import { ProgressLine } from './progress-line.js';

/**
 * What `rmm exec` and `rmm actions run` show while actions run, in one of three forms:
 *
 * - --json: NDJSON on stdout, one event per state change, then a summary.
 * - a terminal on stderr: one live line of counts per state on stderr, redrawn at most 10 times a
 *   second, and each device's result on stdout as it ends.
 * - otherwise (logs, pipes, CI): a start line on stderr, then each device's result as it ends.
 */
export interface ActionOutput {
  event(event: ActionEvent): void;
  /** The end. `stillQueued`: what a queue still holds, one `queued-at-end` object each in --json. */
  done(summary: Summary, stillQueued?: readonly StillQueued[]): void;
}

/** An action still Delivered or Running in a queue when the command stops waiting. */
export interface StillQueued {
  id: string;
  device: string;
  status: ActionStatus;
  /** `relay/relay-alpha`. */
  route: string;
  /** ISO 8601 UTC: not started after this. */
  expiresAt: string;
}

export interface OutputMode {
  json: boolean;
  /** Draw the live line: stderr is a terminal. */
  live: boolean;
  /** The summary's first words: `Exec complete`. */
  label: string;
}

export function actionOutput(total: number, mode: OutputMode): ActionOutput {
  // Lines are written in batches at most FLUSH_MS apart: one write per event cost a system call
  // each (0.15 ms), a sizeable part of what rmm adds to a fan-out of 1,000 short commands.
  const pending: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const queue = (lines: string[]) => {
    pending.push(...lines);
    timer ??= setTimeout(() => flush(), FLUSH_MS);
  };
  let flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length) writeLines(pending.splice(0));
  };
  if (mode.json) {
    return {
      event: (event) => queue([JSON.stringify(event)]),
      done: (summary, stillQueued = []) => {
        flush();
        writeLines([
          ...stillQueued.map((q) => JSON.stringify({ type: 'queued-at-end', ...q })),
          JSON.stringify({ type: 'summary', ...finalCounts(summary) }),
        ]);
      },
    };
  }
  const tally = liveTally(total);
  const line = mode.live ? new ProgressLine(process.stderr, tally.render) : undefined;
  if (line) {
    const write = flush;
    flush = () => {
      if (pending.length) line.clear();
      write();
      line.changed();
    };
    line.changed();
  } else process.stderr.write(`Running on ${total} device${total === 1 ? '' : 's'}...\n`);
  return {
    event(event) {
      tally.add(event);
      if (event.status !== 'Running' && event.status !== 'Delivered') queue(resultLines(event));
      line?.changed();
    },
    done(summary) {
      flush();
      line?.end();
      const left = [
        summary.Pending ? `; ${summary.Pending} left Pending for a later run` : '',
        summary.Delivered || summary.Running
          ? `; ${summary.Delivered + summary.Running} still queued (Delivered or Running at a relay)`
          : '',
      ].join('');
      writeLines([`\n${mode.label}: ${describeSummary(summary)}${left}.`]);
    },
  };
}

const FLUSH_MS = 50;

/** Counts per state from the events, for the live line. */
function liveTally(total: number) {
  const counts = Object.fromEntries(ACTION_STATUSES.map((s) => [s, 0])) as Record<ActionStatus, number>;
  const running = new Set<string>();
  const delivered = new Set<string>();
  return {
    add(event: ActionEvent) {
      delivered.delete(event.id);
      if (event.status === 'Running') running.add(event.id);
      else if (event.status === 'Delivered') delivered.add(event.id);
      else {
        running.delete(event.id);
        counts[event.status]++;
      }
    },
    render: () => {
      const ended = ACTION_STATUSES.reduce((n, s) => n + counts[s], 0);
      const waiting = Math.max(0, total - ended - running.size - delivered.size);
      const parts = [`${waiting} pending`];
      if (delivered.size) parts.push(`${delivered.size} delivered`);
      parts.push(`${running.size} running`);
      for (const status of FINAL_STATUSES)
        if (counts[status]) parts.push(`${counts[status]} ${status.toLowerCase()}`);
      return `[${ended}/${total}] ${parts.join(', ')}`;
    },
  };
}

/**
 * A device's result for people. What the device printed is untrusted: its control sequences could
 * rewrite the operator's terminal or forge rmm's own lines, so they are shown escaped, lines and tabs
 * kept (src/printable.ts), whatever stdout is (a log viewed later replays them as well). --json
 * keeps the exact output.
 */
function resultLines(event: ActionEvent): string[] {
  const how = event.exitCode !== undefined ? `exit ${event.exitCode}` : (event.error ?? '');
  const lines = [
    `--- ${printable(event.device)}: ${event.status} (${printable(how)}, ${((event.durationMs ?? 0) / 1000).toFixed(2)} s)`,
  ];
  if (event.note) lines.push(printable(event.note));
  if (event.stdout) lines.push(printableLines(event.stdout.replace(/\n$/, '')));
  if (event.stderr) lines.push(printableLines(event.stderr.replace(/\n$/, '')));
  return lines;
}

/** The final statuses' counts (what the JSON summary holds). */
export function finalCounts(summary: Summary) {
  const { Pending: _p, Delivered: _d, Running: _r, ...final } = summary;
  return final;
}

/** `2 succeeded, 0 failed, 0 timedout, 0 unreachable, 0 expired, 0 cancelled`. */
export function describeSummary(summary: Summary): string {
  return Object.entries(finalCounts(summary))
    .map(([status, n]) => `${n} ${status.toLowerCase()}`)
    .join(', ');
}
