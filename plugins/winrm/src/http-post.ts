import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { asConnectError, ConnectionError } from './connection-error.js';

/** An HTTP reply as it came, before any unsealing or check. */
export interface RawReply {
  status: number;
  contentType: string;
  body: Buffer;
  wwwAuthenticate?: string;
  /** The connection it came on: NTLM's context belongs to one. */
  socket: Duplex;
}

/** One POST through the connection's agent, its whole reply read; failures are ConnectionErrors. */
export function httpPost(
  agent: http.Agent,
  url: URL,
  body: Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RawReply> {
  const module = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ConnectionError('aborted', 'cancelled'));
    let socket: Duplex | undefined;
    let responded = false;
    const req = module.request(url, {
      method: 'POST',
      agent,
      headers: { ...headers, 'Content-Length': String(body.length), 'User-Agent': 'rmm WinRM' },
    });
    const fail = (error: Error) => {
      cleanup();
      req.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new ConnectionError('timeout', `no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = () => fail(new ConnectionError('aborted', 'cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    req.on('socket', (s) => {
      socket = s;
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      cleanup();
      // openSocket's failures are ConnectionErrors already (connect or tls).
      if (error instanceof ConnectionError) return reject(error);
      if (!socket) return reject(asConnectError(error));
      reject(
        new ConnectionError(
          'dropped',
          responded
            ? `the connection dropped during the reply (${error.message})`
            : `the connection dropped (${error.message})`,
          undefined,
          { cause: error },
        ),
      );
    });
    req.on('response', (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => req.emit('error', error));
      res.on('end', () => {
        cleanup();
        if (!res.complete)
          return reject(new ConnectionError('dropped', 'the connection dropped during the reply'));
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks),
          ...(res.headers['www-authenticate']
            ? { wwwAuthenticate: String(res.headers['www-authenticate']) }
            : {}),
          socket: socket ?? res.socket,
        });
      });
    });
    req.end(body);
  });
}
