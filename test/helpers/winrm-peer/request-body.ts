import type { IncomingMessage } from 'node:http';

export type RequestBody = { kind: 'body'; data: Buffer } | { kind: 'too-large' };

/** A body beyond `keepLimit` is read and thrown away up to this, so the client still sees the 413. */
const DRAIN_LIMIT = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 30_000;

/**
 * Reads a request body, keeping at most `keepLimit` bytes. A larger one is drained (bounded in size
 * and time) rather than cut off: a client still writing when the server hangs up sees a reset, not
 * the 413 Windows sends. Rejects when the client goes away or the drain bound is hit.
 */
export function readRequestBody(request: IncomingMessage, keepLimit: number): Promise<RequestBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const timer = setTimeout(() => fail(new Error('request body took too long')), DRAIN_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      request.destroy();
      reject(error);
    };
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > DRAIN_LIMIT) fail(new Error('request body too large to drain'));
      else if (length <= keepLimit) chunks.push(chunk);
    });
    request.on('end', () => {
      clearTimeout(timer);
      resolve(
        length > keepLimit ? { kind: 'too-large' } : { kind: 'body', data: Buffer.concat(chunks, length) },
      );
    });
    request.on('error', fail);
    request.on('aborted', () => fail(new Error('client aborted')));
  });
}
