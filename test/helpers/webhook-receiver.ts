import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real HTTP server on a loopback port that records every request a webhook sender makes, and
 * fails on demand to exercise retries: the next N requests get a status, hang until the client
 * gives up, or have their connection reset.
 */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Fault =
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'reset' };

export interface WebhookReceiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Requests answered 2xx, in order. */
  accepted(): ReceivedRequest[];
  /** The next `count` requests meet `fault` instead of a 200. */
  failNext(fault: Fault, count?: number): void;
  close(): Promise<void>;
}

const MAX_BODY = 4 * 1024 * 1024;

export async function startWebhookReceiver(options: { path?: string } = {}): Promise<WebhookReceiver> {
  const path = options.path ?? '/hook';
  const requests: ReceivedRequest[] = [];
  const acceptedRequests: ReceivedRequest[] = [];
  const faults: Fault[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      const fault = faults.shift();
      if (fault?.kind === 'hang') return; // the client's timeout ends it
      if (fault?.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'status') {
        res
          .writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers })
          .end(fault.body ?? `failing on purpose`);
        return;
      }
      if (request.path !== path) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such hook');
        return;
      }
      acceptedRequests.push(request);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    requests,
    accepted: () => acceptedRequests,
    failNext(fault, count = 1) {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
