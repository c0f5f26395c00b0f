import type { NotificationContent, NotifiedAlert } from './content.js';

/** The words every format shares: a headline and one line per alert, the same in chat and mail. */

const EVENT_WORDS: Record<NotificationContent['event'], string> = {
  fire: 'FIRING',
  resolve: 'RESOLVED',
  repeat: 'STILL FIRING',
  test: 'TEST',
};

/** `[Critical] FIRING: cpu-high on web-01: cpu.usage_percent > 90`, or a count for a group. */
export function headline(content: NotificationContent): string {
  const event = EVENT_WORDS[content.event];
  if (content.event === 'test') return `${event}: rmm test notification for channel ${content.channel}`;
  const [first] = content.alerts;
  const what =
    content.alerts.length === 1 && first
      ? first.title
      : `${content.alerts.length} alerts of ${content.group.source}${content.group.site ? ` at site ${content.group.site}` : ''}`;
  return `[${content.severity}] ${event}: ${what}`;
}

/** One alert on one line: device, severity, title, and when it fired or resolved. */
export function alertLine(alert: NotifiedAlert): string {
  const when = alert.resolvedAt ? `resolved ${alert.resolvedAt} UTC` : `since ${alert.createdAt} UTC`;
  return `${alert.device} [${alert.severity}] ${alert.title} (${when})`;
}

/** What a test message says, so a reader knows no alert is behind it. */
export function testText(content: NotificationContent): string {
  return `This is a test from rmm (rmm notify test ${content.channel}); no alert is behind it. Id ${content.id}.`;
}

/** The devices a notification names, in order, once each. */
export function devicesOf(content: NotificationContent): string[] {
  return [...new Set(content.alerts.map((alert) => alert.device))];
}

/** At most `limit` lines, then one that counts the rest: a storm of 500 devices is one readable message. */
export function boundedLines(lines: string[], limit: number): string[] {
  if (lines.length <= limit) return lines;
  return [...lines.slice(0, limit - 1), `… and ${lines.length - limit + 1} more`];
}

/** Cut to `max` characters (code points), an ellipsis marking the cut. */
export function cutText(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
