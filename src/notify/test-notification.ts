import { randomUUID } from 'node:crypto';
import { RmmError } from '../errors.js';
import { quote } from '../quote.js';
import type { NotificationChannelSpec } from '../resources/kinds.js';
import { suggest } from '../suggest.js';
import { channelSender, type SenderDeps } from './channel-sender.js';
import type { NotificationContent, SendResult } from './content.js';

/** What `rmm notify test` sent and what the server answered. */
export interface TestOutcome extends SendResult {
  channel: string;
  type: NotificationChannelSpec['type'];
  /** The test notification's id: its Idempotency-Key header, or its Message-ID `<id@rmm>`. */
  id: string;
}

/** A notification that says it is a test: no alerts, event `test`, a fresh id. */
export function testNotification(
  channel: string,
  now: number,
  id: string = randomUUID(),
): NotificationContent {
  return {
    id,
    event: 'test',
    channel,
    group: { site: null, source: 'rmm/notify-test' },
    severity: 'Info',
    alerts: [],
    createdAt: now,
  };
}

/**
 * Sends a test message over an applied channel. An unknown channel is a not-found error with a
 * did-you-mean; what the server did (delivered or not) is the outcome, never an error.
 */
export async function sendTestNotification(
  channels: ReadonlyMap<string, NotificationChannelSpec>,
  name: string,
  deps: SenderDeps & { now: number; signal: AbortSignal },
): Promise<TestOutcome> {
  const spec = channels.get(name);
  if (!spec) {
    const hint = suggest(name, [...channels.keys()]);
    const known =
      channels.size === 0 ? ' (no channel is applied: declare a NotificationChannel and rmm apply it)' : '';
    throw new RmmError(
      'not-found',
      `no NotificationChannel ${quote(name)} in the database${hint ? `; did you mean ${quote(hint)}?` : ''}${known}`,
    );
  }
  const content = testNotification(name, deps.now);
  const result = await channelSender(name, spec, deps)(content, { signal: deps.signal });
  return { channel: name, type: spec.type, id: content.id, ...result };
}
