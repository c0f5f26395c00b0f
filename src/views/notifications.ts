import type { NotificationRow, OutboxSummary } from '../notify/outbox-queries.js';
import { printable } from '../printable.js';
import { textTable } from './table.js';

/** The outbox for people: an alert's notifications (rmm alerts show) and the outbox lines of rmm status. */

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A notification as JSON: times in ISO 8601. */
export function notificationJson(row: NotificationRow) {
  return {
    ...row,
    createdAt: iso(row.createdAt),
    readyAt: iso(row.readyAt),
    nextAttemptAt: row.status === 'Pending' ? iso(row.nextAttemptAt) : null,
    lastAttemptAt: iso(row.lastAttemptAt),
    deliveredAt: iso(row.deliveredAt),
  };
}

/** What a row's status means now: when it goes next, or when it went. */
function when(row: NotificationRow): string {
  if (row.status === 'Delivered') return `delivered ${iso(row.deliveredAt)}`;
  if (row.status === 'Pending')
    return `${row.attempts === 0 ? 'sends' : 'retries'} at ${iso(row.nextAttemptAt)}`;
  return `${row.status.toLowerCase()} ${iso(row.lastAttemptAt) ?? ''}`.trimEnd();
}

export function notificationLines(rows: readonly NotificationRow[]): string[] {
  if (rows.length === 0) return ['Notifications: none'];
  const table = textTable<NotificationRow>(
    [
      ['CHANNEL', (r) => r.channel],
      ['EVENT', (r) => r.event],
      ['STATUS', (r) => r.status],
      ['ATTEMPTS', (r) => String(r.attempts)],
      ['WHEN', when],
      ['LAST ANSWER', (r) => r.lastAnswer ?? '-'],
    ],
    rows,
  );
  return ['Notifications (outbox):', ...table.split('\n').map((line) => `  ${line}`)];
}

export function outboxLines(summary: OutboxSummary): string[] {
  const channels = Object.entries(summary.channels);
  const lines = [
    channels.length === 0
      ? 'Notifications: nothing pending, failed or expired'
      : `Notifications: ${channels
          .map(
            ([name, n]) =>
              `${printable(name)} ${n.pending} pending, ${n.failed} failed, ${n.expired} expired`,
          )
          .join('; ')}`,
  ];
  const last = summary.lastFailure;
  if (last)
    lines.push(
      `Last failure: ${printable(last.channel)} at ${iso(last.at)} (${last.status}): ${printable(last.answer ?? '-')}`,
    );
  return lines;
}
