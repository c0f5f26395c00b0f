import type { Severity } from '../monitoring/alert-store.js';

/**
 * What a notification says, whatever carries it: the contract between the outbox (which decides
 * what is owed to whom, src/notify/outbox*) and the senders (webhook and email, which render it in a
 * channel's format and report what the server answered). docs/notifications.md.
 */

/** Why a notification is sent: an alert fired, resolved, is still open (re-notify), or `rmm notify test`. */
export type NotificationEvent = 'fire' | 'resolve' | 'repeat' | 'test';

/** One alert as a notification shows it: what the Alerts row holds, and the device's site. */
export interface NotifiedAlert {
  id: string;
  device: string;
  site: string | null;
  severity: Severity;
  title: string;
  message: string | null;
  /** `policy/monitor`, or `rmm/device-offline`. */
  source: string;
  /** The series' labels in canonical form (`mount=/`); '' for none. */
  instance: string;
  /** As Alerts stores them: UTC, `YYYY-MM-DD HH:MM:SS`. */
  createdAt: string;
  resolvedAt: string | null;
}

export interface NotificationContent {
  /**
   * The idempotency key: the same for every attempt at this notification, so receivers can drop a
   * repeat (webhooks: the `Idempotency-Key` header; mail: the Message-ID `<id@rmm>`).
   */
  id: string;
  event: NotificationEvent;
  /** The NotificationChannel's name. */
  channel: string;
  /** What the alerts have in common: grouping gathers alerts of one site and one source. */
  group: { site: string | null; source: string };
  /** The highest severity among the alerts. */
  severity: Severity;
  /** One or more (grouped) alerts, oldest first; none for a test message. */
  alerts: readonly NotifiedAlert[];
  /** When the console decided to send it, epoch ms. */
  createdAt: number;
}

/**
 * What one delivery attempt got. `delivered`: the server took it. `retry`: worth another attempt
 * (timeout, connection reset, HTTP 408/429/5xx, SMTP 4xx). `rejected`: the server refused it for
 * good (other HTTP 4xx, SMTP 5xx); it is not retried.
 */
export interface SendResult {
  outcome: 'delivered' | 'retry' | 'rejected';
  /**
   * What the server answered, for people (`HTTP 200 OK`, `250 2.0.0 Ok: queued as 4F2`, or the
   * network error), printable and cut short, never holding a secret (a webhook URL carries one).
   */
  answer: string;
}

/** Sends one notification over one channel; never throws for what the network or server did. */
export type Sender = (content: NotificationContent, options: { signal: AbortSignal }) => Promise<SendResult>;
