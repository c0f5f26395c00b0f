import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { ConnectionError } from './connection-error.js';
import { ENCRYPTED_CONTENT_TYPE, encryptMessage } from './encryption.js';
import { httpPost, type RawReply } from './http-post.js';
import type { NtlmSession } from './ntlm/index.js';
import { ntlmHandshake } from './ntlm-handshake.js';
import { openSocket, type SocketOptions } from './open-socket.js';
import { type Reply, soapReply } from './soap-reply.js';

/**
 * One kept-alive HTTP(S) connection to a WinRM listener, authenticated once and then reused for
 * every message of a session. NTLM binds its security context to the TCP connection, so the
 * connection is ours alone (an agent with one socket) and requests go one at a time, in order:
 * each sealed message advances a sequence number the server checks.
 *
 * - HTTP + NTLM: an empty POST carries the handshake; every SOAP message is then sealed
 *   (multipart/encrypted), as a default Windows listener demands (AllowUnencrypted=false).
 * - HTTPS + NTLM: the same handshake; TLS protects the messages, which travel as they are.
 * - HTTPS + Basic: the credentials on every request. Never over plain HTTP.
 */
export interface ConnectionOptions extends SocketOptions {
  auth: 'ntlm' | 'basic';
  user: string;
  password: string;
  domain?: string;
}

const SOAP_CONTENT_TYPE = 'application/soap+xml;charset=UTF-8';

export class WinrmConnection {
  private readonly agent: http.Agent;
  /** The socket the NTLM context belongs to; the context dies with it. */
  private authenticatedSocket: Duplex | undefined;
  private ntlm: NtlmSession | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: ConnectionOptions) {
    const Agent = options.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
    // Our own connect: a connect timeout of our choosing, and certificate pinning checked before the
    // first byte of a request (and so any credential) is written.
    const connect = (_: unknown, done: (error: Error | null, socket?: Duplex) => void) => {
      openSocket(this.options).then(
        (socket) => done(null, socket),
        (error: Error) => done(error),
      );
    };
    (this.agent as unknown as { createConnection: typeof connect }).createConnection = connect;
  }

  /** Posts one SOAP message and returns the reply's SOAP (200, or 500 with a fault). */
  send(soap: string, timeoutMs: number, signal?: AbortSignal): Promise<Reply> {
    return this.inTurn(() => this.sendNow(soap, timeoutMs, signal));
  }

  /** Sets up the security context now (connect-time errors surface at connect, not at first exec). */
  open(signal?: AbortSignal): Promise<void> {
    return this.inTurn(() => this.authenticate(this.options.connectTimeoutMs, signal));
  }

  /** Runs after every request queued before it: one at a time, in order, whatever failed before. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work);
    this.tail = run.catch(() => {});
    return run;
  }

  close(): void {
    this.closed = true;
    this.agent.destroy();
    this.ntlm = undefined;
  }

  private async sendNow(soap: string, timeoutMs: number, signal?: AbortSignal): Promise<Reply> {
    if (this.closed) throw new ConnectionError('aborted', 'the session is closed');
    const basic = this.options.auth === 'basic';
    if (!basic && !this.contextAlive()) await this.authenticate(timeoutMs, signal);
    let reply = await this.post(soap, timeoutMs, signal);
    // The server lost our context (its side of the connection closed between two requests): a 401
    // means it did nothing with the message, so set up a new context and send it again, once.
    if (reply.status === 401 && !basic) {
      this.forgetContext();
      await this.authenticate(timeoutMs, signal);
      reply = await this.post(soap, timeoutMs, signal);
    }
    if (reply.status === 401)
      throw new ConnectionError('auth', 'the server refused the credentials (HTTP 401)', 401);
    return reply;
  }

  private contextAlive(): boolean {
    const socket = this.authenticatedSocket;
    return this.ntlm !== undefined && socket !== undefined && !socket.destroyed;
  }

  private forgetContext(): void {
    this.ntlm = undefined;
    this.authenticatedSocket = undefined;
  }

  private async authenticate(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    // Basic sends the credentials with every request: nothing to set up.
    if (this.options.auth === 'basic') return;
    this.forgetContext();
    const { session, socket } = await ntlmHandshake(this.options, (headers) =>
      this.request(Buffer.alloc(0), headers, timeoutMs, signal),
    );
    this.ntlm = session;
    this.authenticatedSocket = socket;
  }

  private async post(soap: string, timeoutMs: number, signal?: AbortSignal): Promise<Reply> {
    const body = Buffer.from(soap, 'utf8');
    const sealed = this.options.auth === 'ntlm' && this.options.url.protocol === 'http:';
    const headers: Record<string, string> = {};
    if (this.options.auth === 'basic') headers.Authorization = this.basicHeader();
    let payload: Buffer = body;
    const context = this.authenticatedSocket;
    if (sealed) {
      if (!this.ntlm) throw new ConnectionError('auth', 'no security context');
      payload = encryptMessage(this.ntlm, body);
      headers['Content-Type'] = ENCRYPTED_CONTENT_TYPE;
    } else headers['Content-Type'] = SOAP_CONTENT_TYPE;
    const reply = await this.request(payload, headers, timeoutMs, signal);
    try {
      return soapReply(reply, { sealed, ntlm: this.ntlm, context, payloadBytes: payload.length });
    } catch (error) {
      // Our sequence numbers and the server's may be out of step now: the next message sets up anew.
      if (error instanceof ConnectionError && error.kind === 'unsealed') this.forgetContext();
      throw error;
    }
  }

  private basicHeader(): string {
    const user = this.options.domain ? `${this.options.domain}\\${this.options.user}` : this.options.user;
    return `Basic ${Buffer.from(`${user}:${this.options.password}`, 'utf8').toString('base64')}`;
  }

  private request(
    body: Buffer,
    headers: Record<string, string>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<RawReply> {
    return httpPost(this.agent, this.options.url, body, headers, timeoutMs, signal);
  }
}
