import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { asConnectError, ConnectionError } from './connection-error.js';

export interface SocketOptions {
  url: URL;
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

/** TCP, or TLS checked against the CA, the system bundle or the pinned fingerprint. */
export function openSocket(options: SocketOptions): Promise<Duplex> {
  const { url, connectTimeoutMs } = options;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 5986 : 5985));
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const trust = options.tls;
    const pinned = trust?.fingerprint256;
    const socket: net.Socket = secure
      ? tls.connect({
          host,
          port,
          ...(net.isIP(host) ? {} : { servername: host }),
          ...(trust?.ca ? { ca: trust.ca } : {}),
          // A pinned fingerprint replaces the chain check, which a self-signed certificate fails.
          rejectUnauthorized: trust?.verify !== false && !pinned,
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

function normalizeFingerprint(value: string | undefined): string {
  return (value ?? '').replace(/[^0-9a-f]/gi, '').toUpperCase();
}
