import type { Sender } from '../../src/notify/content.js';

/**
 * A minimal webhook sender for the outbox's tests (the product's senders are channelSender's, in
 * src/notify): the content as JSON, its id as the Idempotency-Key header, and the outcome by the
 * rules of content.ts (2xx delivered; 408, 429, 5xx, timeouts and resets retried; other 4xx rejected).
 */
export function testWebhookSender(url: string, options: { timeoutMs?: number } = {}): Sender {
  const timeoutMs = options.timeoutMs ?? 2_000;
  return async (content, { signal }) => {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': content.id },
        body: JSON.stringify(content),
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
      const answer = `HTTP ${response.status} ${(await response.text()).slice(0, 100)}`;
      if (response.ok) return { outcome: 'delivered', answer };
      const retry = response.status >= 500 || response.status === 408 || response.status === 429;
      return { outcome: retry ? 'retry' : 'rejected', answer };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return { outcome: 'retry', answer: `${(error as Error).name}${cause ? ` (${cause})` : ''}` };
    }
  };
}
