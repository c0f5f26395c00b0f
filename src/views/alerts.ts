import type { ChangedAlert } from '../monitoring/alert-changes.js';
import type { AlertDetail, AlertEvent } from '../monitoring/alert-queries.js';
import { printable } from '../printable.js';
import { textTable } from './table.js';
import { isoTime } from './time.js';

/** rmm alerts list|show|ack|snooze|resolve: a table, a detail page and JSON, times in ISO 8601 UTC. */

/** An alert as JSON: every column, times in ISO 8601, NotificationsSent as stored. */
export function alertJson(alert: AlertDetail) {
  return {
    ...alert,
    createdAt: isoTime(alert.createdAt),
    acknowledgedAt: isoTime(alert.acknowledgedAt),
    resolvedAt: isoTime(alert.resolvedAt),
    snoozedUntil: isoTime(alert.snoozedUntil),
  };
}

/** Where an alert stands, in one word or two: resolved wins, then a snooze still running, then an ack. */
export function alertState(alert: AlertDetail, now: number): string {
  if (alert.resolvedAt !== null) return alert.autoResolved ? 'resolved (auto)' : 'resolved';
  const until = alert.snoozedUntil === null ? Number.NaN : Date.parse(`${isoTime(alert.snoozedUntil)}`);
  if (until > now) return 'snoozed';
  return alert.acknowledgedAt === null ? 'open' : 'acknowledged';
}

export function alertTable(alerts: readonly AlertDetail[], now: number): string {
  return textTable<AlertDetail>(
    [
      ['ID', (a) => a.id.slice(0, 8)],
      ['CREATED (UTC)', (a) => a.createdAt ?? ''],
      ['SEVERITY', (a) => a.severity],
      ['STATE', (a) => alertState(a, now)],
      ['DEVICE', (a) => a.device],
      ['SOURCE', (a) => a.source ?? ''],
      ['INSTANCE', (a) => a.instance],
      ['TITLE', (a) => a.title],
    ],
    alerts,
  );
}

/** The line under a cut page: how many more matched. */
export function morePage(shown: number, total: number): string | undefined {
  if (total <= shown) return undefined;
  return `${total - shown} more alert${total - shown === 1 ? '' : 's'} match (showing the newest ${shown}); use --limit to see more`;
}

/** One alert, every field, then what happened to it (AuditLog). */
export function alertText(
  alert: AlertDetail,
  history: readonly AlertEvent[],
  now: number,
  notifications: readonly string[] = [],
): string {
  const field = (name: string, value: string | null) => `${`${name}:`.padEnd(20)}${printable(value ?? '-')}`;
  const lines = [
    field('Id', alert.id),
    field('Device', alert.device),
    field('Severity', alert.severity),
    field('State', alertState(alert, now)),
    field('Type', alert.alertType),
    field('Source', alert.source),
    field('Instance', alert.instance || '-'),
    field('Title', alert.title),
    field('Message', alert.message),
    field('Created', isoTime(alert.createdAt)),
    field('Acknowledged', acted(alert.acknowledgedAt, alert.acknowledgedBy)),
    field('Snoozed until', isoTime(alert.snoozedUntil)),
    field('Resolved', acted(alert.resolvedAt, alert.resolvedBy)),
    field('Auto-resolved', alert.resolvedAt === null ? '-' : alert.autoResolved ? 'yes' : 'no'),
    field('Maintenance', alert.maintenance),
    field('Notifications sent', alert.notificationsSent),
  ];
  if (notifications.length > 0) lines.push('', ...notifications);
  if (history.length > 0) {
    lines.push('', 'History (AuditLog):');
    for (const event of history)
      lines.push(
        `  ${isoTime(event.time)}  ${printable(event.user ?? '?')}  ${printable(event.action)}${noteOf(event.details)}`,
      );
  }
  return lines.join('\n');
}

function acted(at: string | null, by: string | null): string | null {
  return at === null ? null : `${isoTime(at)} by ${by ?? '?'}`;
}

function noteOf(details: unknown): string {
  const note = (details as { note?: unknown } | null)?.note;
  return typeof note === 'string' ? `  note: ${printable(note)}` : '';
}

/** What an ack, snooze or resolve did, one line per alert. */
export function changedLines(changed: readonly ChangedAlert[], verb: string): string[] {
  return changed.map(
    (c) =>
      // Titles name the device already (`disk-root on web-01: ...`).
      `${c.outcome === 'changed' ? verb : `already ${verb}`}: ${c.id} (${printable(c.title)})`,
  );
}
