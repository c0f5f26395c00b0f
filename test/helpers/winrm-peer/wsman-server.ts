import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decryptMessage,
  ENCRYPTED_CONTENT_TYPE,
  encryptMessage,
} from '../../../plugins/winrm/src/encryption.js';
import { NtlmError, type NtlmSession } from '../../../plugins/winrm/src/ntlm/index.js';
import type { Authenticator, ConnectionAuth } from './http-auth.js';
import { readRequestBody } from './request-body.js';
import type { ShellService } from './shell-service.js';
import { parseSoapRequest, type SoapRequest } from './soap-request.js';
import { faultEnvelope } from './soap-writer.js';
import { type PeerFaults, type PeerStats, UNSEALED_FAULT_TEXT } from './types.js';
import { internalError, WsmanFault } from './wsman-faults.js';

export interface WsmanServerOptions {
  tls: { certificatePem: string; keyPem: string } | undefined;
  authenticator: Authenticator;
  shells: ShellService;
  /** A request envelope above this many bytes gets 413. */
  maxEnvelopeSize: number;
  faults: PeerFaults;
  stats: PeerStats;
}

const SOAP_CONTENT_TYPE = 'application/soap+xml;charset=UTF-8';
/** The Machine attribute of faults: Windows names itself by the address the client used. */
const MACHINE = '127.0.0.1';
/** HTTP.sys keeps an idle connection (and with it the NTLM context) this long. */
const IDLE_CONNECTION_MS = 120_000;
/** Beyond the envelope limit, what a body may add before it is no longer read at all (MIME framing). */
const BODY_SLACK = 64 * 1024;

/**
 * The HTTP side of a WinRM listener at /wsman: authentication per connection, message encryption on
 * HTTP (NTLM-sealed multipart/encrypted in both directions), the envelope limit, fault injection,
 * and SOAP faults as HTTP 500. The shell behind it only sees parsed requests.
 */
export function createWsmanServer(options: WsmanServerOptions): http.Server {
  const connections = new WeakMap<Socket, ConnectionAuth>();
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    let connection = connections.get(request.socket);
    if (connection === undefined) {
      connection = {};
      connections.set(request.socket, connection);
    }
    serve(request, response, connection, options).catch(() => request.socket.destroy());
  };
  const server = options.tls
    ? https.createServer({ cert: options.tls.certificatePem, key: options.tls.keyPem }, handler)
    : http.createServer(handler);
  server.keepAliveTimeout = IDLE_CONNECTION_MS;
  server.on('connection', () => options.stats.connections++);
  // A client that drops the connection mid-request is its own business, not a crash of the peer.
  server.on('clientError', (_error, socket) => socket.destroy());
  return server;
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  connection: ConnectionAuth,
  options: WsmanServerOptions,
): Promise<void> {
  const abort = new AbortController();
  response.on('close', () => abort.abort());
  const reply = new Reply(response, options.faults, abort.signal);
  if ((request.url ?? '').split('?')[0]?.toLowerCase() !== '/wsman') return reply.empty(404);
  if (request.method !== 'POST') return reply.empty(405, { Allow: 'POST' });

  const body = await readRequestBody(request, options.maxEnvelopeSize + BODY_SLACK);
  if (options.faults.rejectAuth)
    return reply.empty(401, { 'WWW-Authenticate': options.authenticator.offered() });
  const auth = options.authenticator.authenticate(connection, request.headers.authorization);
  if (auth.kind === 'unauthorized') return reply.empty(401, { 'WWW-Authenticate': auth.wwwAuthenticate });

  const encrypted = /^multipart\/encrypted/i.test(request.headers['content-type'] ?? '');
  if (body.kind === 'too-large') {
    // An encrypted body left unread would put the NTLM sequence numbers out of step: hang up after the 413.
    return reply.empty(413, encrypted ? { Connection: 'close' } : {});
  }
  // The empty POST that finishes a handshake (pywinrm's setup_encryption) gets an empty 200.
  if (body.data.length === 0) return reply.empty(200);

  let soap: Buffer;
  if (encrypted) {
    if (auth.session === undefined) return reply.empty(400);
    // Injected before decrypting: the NTLM sequence numbers never saw these messages.
    if (options.faults.unsealedFaults > 0) {
      options.faults.unsealedFaults--;
      return reply.soap(
        500,
        faultEnvelope(internalError(UNSEALED_FAULT_TEXT), undefined, MACHINE),
        undefined,
      );
    }
    if (options.faults.unsealedUnauthorized > 0) {
      options.faults.unsealedUnauthorized--;
      return reply.empty(401, { 'WWW-Authenticate': 'Negotiate' });
    }
    try {
      soap = decryptMessage(auth.session, body.data);
    } catch (error) {
      if (!(error instanceof NtlmError)) throw error;
      return reply.empty(400, { Connection: 'close' });
    }
  } else {
    // AllowUnencrypted=false, the default: plain SOAP on HTTP is refused with an empty 500.
    if (options.tls === undefined) return reply.empty(500);
    soap = body.data;
  }
  if (soap.length > options.maxEnvelopeSize) return reply.empty(413);

  const sealWith = encrypted ? auth.session : undefined;
  let soapRequest: SoapRequest | undefined;
  try {
    soapRequest = parseSoapRequest(soap.toString('utf8'));
    const result = await options.shells.handle(soapRequest, {
      user: auth.user,
      clientAddress: request.socket.remoteAddress ?? '',
      endpointUrl: `${options.tls ? 'https' : 'http'}://${request.headers.host ?? MACHINE}/wsman`,
      signal: abort.signal,
    });
    if (result.kind === 'drop') {
      request.socket.destroy();
      return;
    }
    return reply.soap(200, result.xml, sealWith);
  } catch (error) {
    const fault = error instanceof WsmanFault ? error : internalError(String(error));
    return reply.soap(500, faultEnvelope(fault, soapRequest?.messageId, MACHINE), sealWith);
  }
}

/** Writes one response, after the injected delay, unless the client has gone meanwhile. */
class Reply {
  constructor(
    private readonly response: ServerResponse,
    private readonly faults: PeerFaults,
    private readonly gone: AbortSignal,
  ) {}

  async empty(status: number, headers: Record<string, string | string[]> = {}): Promise<void> {
    if (!(await this.delayed())) return;
    this.response.writeHead(status, { Server: 'Microsoft-HTTPAPI/2.0', 'Content-Length': '0', ...headers });
    this.response.end();
  }

  /** Sealed (multipart/encrypted) when the request was, as Windows answers. */
  async soap(status: number, xml: string, session: NtlmSession | undefined): Promise<void> {
    if (!(await this.delayed())) return;
    const plain = Buffer.from(xml, 'utf8');
    // Sealing happens only now, after the delay, so the NTLM sequence follows the order of sending.
    const body = session === undefined ? plain : encryptMessage(session, plain);
    this.response.writeHead(status, {
      Server: 'Microsoft-HTTPAPI/2.0',
      'Content-Type': session === undefined ? SOAP_CONTENT_TYPE : ENCRYPTED_CONTENT_TYPE,
      'Content-Length': String(body.length),
    });
    this.response.end(body);
  }

  private async delayed(): Promise<boolean> {
    const delayMs = this.faults.delayMs;
    if (delayMs > 0) await sleep(delayMs, undefined, { signal: this.gone }).catch(() => {});
    return !this.gone.aborted;
  }
}
