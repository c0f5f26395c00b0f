import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { decryptMessage, ENCRYPTED_CONTENT_TYPE, encryptMessage } from './encryption.js';
import { NtlmClient, type NtlmSession, parseAuthHeader } from './ntlm/index.js';

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
export interface ConnectionOptions {
  url: URL;
  auth: 'ntlm' | 'basic';
  user: string;
  password: string;
  domain?: string;
  tls?: {
    /** CA certificates to trust instead of Node's bundle. */
    ca?: Buffer;
    /** A pinned SHA-256 certificate fingerprint (`AB:CD:...`): replaces chain and name checks. */
    fingerprint256?: string;
    /** false turns verification off entirely (the option says so loudly). */
    verify: boolean;
  };
  connectTimeoutMs: number;
}

/** Why a request failed, for the transport to turn into its typed errors. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  constructor(
    readonly kind: 'connect' | 'tls' | 'auth' | 'dropped' | 'timeout' | 'http' | 'unsealed' | 'aborted',
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Reply {
  status: number;
  /** The SOAP document, unsealed. */
  body: string;
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
      this.openSocket().then(
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

  /** NTLM: NEGOTIATE -> 401 with CHALLENGE -> AUTHENTICATE, on empty POSTs over one connection. */
  private async authenticate(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    // Basic sends the credentials with every request: nothing to set up.
    if (this.options.auth === 'basic') return;
    this.forgetContext();
    const client = new NtlmClient({
      username: this.options.user,
      password: this.options.password,
      ...(this.options.domain ? { domain: this.options.domain } : {}),
    });
    const first = await this.request(
      Buffer.alloc(0),
      { Authorization: `Negotiate ${client.negotiate().toString('base64')}` },
      timeoutMs,
      signal,
    );
    const challenge = first.status === 401 ? parseAuthHeader(first.wwwAuthenticate) : undefined;
    if (!challenge) {
      if (first.status === 401)
        throw new ConnectionError(
          'auth',
          `the server does not offer NTLM (WWW-Authenticate: ${first.wwwAuthenticate ?? 'none'}); enable Negotiate on the WinRM service`,
          401,
        );
      throw new ConnectionError(
        'http',
        `the server answered the NTLM negotiation with HTTP ${first.status}`,
        first.status,
      );
    }
    let authenticated: { message: Buffer; session: NtlmSession };
    try {
      authenticated = client.authenticate(challenge.token);
    } catch (error) {
      throw new ConnectionError(
        'http',
        `the server's NTLM challenge is unreadable: ${(error as Error).message}`,
        401,
        {
          cause: error,
        },
      );
    }
    const second = await this.request(
      Buffer.alloc(0),
      { Authorization: `${challenge.scheme} ${authenticated.message.toString('base64')}` },
      timeoutMs,
      signal,
    );
    if (second.status === 401)
      throw new ConnectionError('auth', 'the server refused the credentials (HTTP 401)', 401);
    if (second.status >= 300)
      throw new ConnectionError(
        'http',
        `the server answered the NTLM authentication with HTTP ${second.status}`,
        second.status,
      );
    this.ntlm = authenticated.session;
    this.authenticatedSocket = second.socket;
  }

  private async post(
    soap: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Reply & { wwwAuthenticate?: string }> {
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
    const encrypted = reply.contentType.toLowerCase().startsWith('multipart/encrypted');
    // A 401 on a connection other than the context's: the server never had our context (its side
    // closed between two requests), so it did nothing with the message; sendNow sets up a new one.
    if (reply.status === 401 && (!sealed || reply.socket !== context)) return { status: 401, body: '' };
    // The size is refused before the server reads the message, and nothing of the reply is shown.
    if (reply.status === 413)
      throw new ConnectionError(
        'http',
        `the server refused a ${payload.length}-byte message as too large (HTTP 413): lower maxEnvelopeSize to the server's MaxEnvelopeSizekb`,
        413,
      );
    // Once messages are sealed, the server seals every reply on that connection, faults and 401s
    // included: one in clear was written by someone else on the path (a man in the middle injecting
    // error text, or a 401 that would make us send the command again), so it is never read.
    if (sealed && !encrypted) {
      // Our sequence numbers and the server's may be out of step now: the next message sets up anew.
      this.forgetContext();
      throw new ConnectionError(
        'unsealed',
        `the server answered a sealed message with an unsealed reply (HTTP ${reply.status}); it was not read: on this connection only sealed replies can come from the server, so something on the network path may be tampering`,
        reply.status,
      );
    }
    let text: string;
    if (encrypted) {
      if (!this.ntlm)
        throw new ConnectionError('http', 'the server sent an encrypted reply without a security context');
      try {
        text = decryptMessage(this.ntlm, reply.body).toString('utf8');
      } catch (error) {
        throw new ConnectionError(
          'http',
          `the server's encrypted reply is unreadable: ${(error as Error).message}`,
          reply.status,
          {
            cause: error,
          },
        );
      }
    } else text = reply.body.toString('utf8');
    if (reply.status !== 200 && reply.status !== 500)
      throw new ConnectionError(
        'http',
        `HTTP ${reply.status}${text ? `: ${excerpt(text)}` : ''}`,
        reply.status,
      );
    return { status: reply.status, body: text };
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
  ): Promise<{
    status: number;
    contentType: string;
    body: Buffer;
    wwwAuthenticate?: string;
    socket: Duplex;
  }> {
    const { url } = this.options;
    const module = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new ConnectionError('aborted', 'cancelled'));
      let socket: Duplex | undefined;
      let responded = false;
      const req = module.request(url, {
        method: 'POST',
        agent: this.agent,
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

  /** TCP, or TLS checked against the CA, the system bundle or the pinned fingerprint. */
  private openSocket(): Promise<Duplex> {
    const { url, connectTimeoutMs } = this.options;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (url.protocol === 'https:' ? 5986 : 5985));
    return new Promise((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const options = this.options.tls;
      const pinned = options?.fingerprint256;
      const socket: net.Socket = secure
        ? tls.connect({
            host,
            port,
            ...(net.isIP(host) ? {} : { servername: host }),
            ...(options?.ca ? { ca: options.ca } : {}),
            // A pinned fingerprint replaces the chain check, which a self-signed certificate fails.
            rejectUnauthorized: options?.verify !== false && !pinned,
          })
        : net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionError('connect', `no connection within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(secure && isTlsError(error) ? tlsError(error) : asConnectError(error));
      });
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        if (pinned) {
          const got = (socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
          if (normalizeFingerprint(got) !== normalizeFingerprint(pinned)) {
            socket.destroy();
            return reject(
              new ConnectionError(
                'tls',
                `the server's certificate is not the pinned one: its SHA-256 fingerprint is ${got}`,
              ),
            );
          }
        }
        resolve(socket);
      });
    });
  }
}

function asConnectError(error: Error): ConnectionError {
  if (error instanceof ConnectionError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return new ConnectionError('connect', `cannot connect (${code || error.message})`, undefined, {
    cause: error,
  });
}

function isTlsError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return (
    /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|HOSTNAME|ALTNAME/i.test(code) || /certificate/i.test(error.message)
  );
}

function tlsError(error: Error): ConnectionError {
  return new ConnectionError(
    'tls',
    `the server's certificate is not trusted (${(error as NodeJS.ErrnoException).code ?? error.message}): give tls.caFile or pin tls.fingerprint`,
    undefined,
    { cause: error },
  );
}

export function normalizeFingerprint(value: string | undefined): string {
  return (value ?? '').replace(/[^0-9a-f]/gi, '').toUpperCase();
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat;
}
