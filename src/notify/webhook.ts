import type { CredentialPolicy } from '../credentials/policy.js';
import { durationSeconds } from '../duration.js';
import type { WebhookChannelSpec } from '../resources/kinds.js';
import { cleanAnswer, secretPartsOfUrl } from './answer.js';
import type { NotificationContent, Sender, SendResult } from './content.js';
import { readReference } from './reference.js';
import { webhookBody } from './webhook-formats.js';

export const DEFAULT_WEBHOOK_TIMEOUT = '10s';
/** The most bytes of a reply read: its start says what went wrong; the rest is not waited for. */
const REPLY_BYTES = 2048;

export interface WebhookDeps {
  policy: CredentialPolicy;
  /** `rmm/0.1.0`: receivers log it. */
  userAgent: string;
}

/**
 * Sends a notification as one POST of JSON in the channel's format, with the `Idempotency-Key`
 * header. The URL is read from its reference at each send and never appears in an answer. Redirects
 * are not followed: the body would go to an address nobody declared.
 */
export function webhookSender(channel: string, spec: WebhookChannelSpec, deps: WebhookDeps): Sender {
  const timeoutMs = (durationSeconds(spec.timeout ?? DEFAULT_WEBHOOK_TIMEOUT) ?? 10) * 1000;
  return async (content, { signal }) => {
    const read = readReference(spec.url, deps.policy);
    // A missing secret may be set before the notification's maximum age: worth another attempt.
    if ('problem' in read) return { outcome: 'retry', answer: cleanAnswer(`not sent: ${read.problem}`) };
    let url: URL;
    try {
      url = new URL(read.value);
    } catch {
      url = new URL('invalid:');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      return {
        outcome: 'retry',
        answer: `not sent: the value of ${spec.url} is not an http(s) URL (channel ${channel}; the value is not shown)`,
      };
    return post(url, content, {
      signal,
      timeoutMs,
      format: spec,
      userAgent: deps.userAgent,
      secrets: secretPartsOfUrl(read.value, url),
    });
  };
}

interface PostOptions {
  signal: AbortSignal;
  timeoutMs: number;
  format: WebhookChannelSpec;
  userAgent: string;
  secrets: string[];
}

async function post(url: URL, content: NotificationContent, options: PostOptions): Promise<SendResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([options.signal, timeout]);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': content.id,
        'user-agent': options.userAgent,
      },
      body: JSON.stringify(webhookBody(options.format.format ?? 'generic', content)),
      redirect: 'manual',
      signal,
    });
    const reply = await replyStart(response);
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    const answer = cleanAnswer(reply === '' ? status : `${status}: ${reply}`, options.secrets);
    return { outcome: outcomeOf(response.status), answer };
  } catch (error) {
    if (options.signal.aborted) return { outcome: 'retry', answer: 'cancelled before the server answered' };
    if (timeout.aborted)
      return { outcome: 'retry', answer: `no answer within ${options.timeoutMs / 1000} s (timeout)` };
    return {
      outcome: 'retry',
      answer: cleanAnswer(`network error: ${networkReason(error)}`, options.secrets),
    };
  }
}

/** 2xx delivered; 408, 429 and 5xx worth another attempt; any other status (3xx, 4xx) refused for good. */
export function outcomeOf(status: number): SendResult['outcome'] {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'rejected';
}

/** The first bytes of the reply's body, as text; the rest is dropped unread. */
async function replyStart(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Bounded: each read adds bytes or ends, and reading stops past REPLY_BYTES (the signal bounds time).
  while (size < REPLY_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => {});
  return Buffer.concat(chunks).subarray(0, REPLY_BYTES).toString('utf8');
}

/** fetch's "fetch failed" with the reason in its cause (ECONNREFUSED, a reset, a TLS failure). */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const message = cause?.message ?? (error as Error).message ?? String(error);
  return cause?.code && !message.includes(cause.code) ? `${cause.code} ${message}` : message;
}
