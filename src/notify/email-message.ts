import { createHash } from 'node:crypto';
import type { NotificationContent } from './content.js';
import { alertLine, boundedLines, devicesOf, headline, testText } from './notification-text.js';

/** What a notification mail says (docs/notifications.md#email): subject, text body, Message-ID. */

/** The most alerts a mail lists; a line counts the rest. */
const MAIL_ALERT_LINES = 200;

/** RFC 5322 dot-atom-text: what the left side of a Message-ID may be without quoting. */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/**
 * `<id@rmm>`, the same on every attempt, so a mail system drops a repeat. The right side `rmm` is a
 * valid dot-atom; an id that is not one (it never is from the outbox) is replaced by its SHA-256,
 * still the same for each attempt.
 */
export function messageIdOf(id: string): string {
  const left = DOT_ATOM.test(id) ? id : createHash('sha256').update(id).digest('hex');
  return `<${left}@rmm>`;
}

export function mailSubject(content: NotificationContent): string {
  return headline(content);
}

export function mailText(content: NotificationContent): string {
  if (content.event === 'test') return `${testText(content)}\n`;
  const devices = devicesOf(content);
  const lines = [
    headline(content),
    '',
    `Event: ${content.event}`,
    `Severity: ${content.severity}`,
    `Site: ${content.group.site ?? '(none)'}`,
    `Source: ${content.group.source}`,
    `Devices (${devices.length}): ${boundedLines(devices, 20).join(', ')}`,
    '',
    ...boundedLines(
      content.alerts.map((alert) =>
        alert.message ? `${alertLine(alert)}\n  ${alert.message}` : alertLine(alert),
      ),
      MAIL_ALERT_LINES,
    ),
    '',
    `-- rmm, channel ${content.channel}, notification ${content.id}`,
  ];
  return `${lines.join('\n')}\n`;
}
