import os from 'node:os';
import type { ConnectOptions, DeviceTarget, Fail, Secret, Session } from 'rmm/plugin';
import type { ConnectConfig } from 'ssh2';
import { hostKeyCheck } from './host-keys.js';
import { knownHostsName } from './known-hosts.js';
import { knownHostsFailure } from './known-hosts-dirs.js';
import { loadSsh2, type Ssh2 } from './load-ssh2.js';
import type { SshOptions } from './options.js';
import { SshSession } from './session.js';

const DEFAULT_KEEPALIVE_MS = 15_000;

/** Logs in to a device: host key checked, one auth method tried, each failure a TransportError. */
export async function connect(target: DeviceTarget, options: ConnectOptions, fail: Fail): Promise<Session> {
  const opts = target.options as SshOptions;
  const port = opts.port ?? 22;
  const user = options.user ?? opts.user ?? os.userInfo().username;
  const where = `${target.name} (${user}@${knownHostsName(target.host, port)})`;
  options.signal?.throwIfAborted();
  const { Client, utils } = await loadSsh2();
  const auth = authConfig(opts.auth ?? 'key', options.secret, where, fail, utils);
  const hostKeys = await hostKeyCheck(target.host, port, opts).catch((error: unknown) => {
    throw knownHostsFailure(fail, where, error);
  });
  options.signal?.throwIfAborted();
  const readyTimeout = Math.min(options.connectTimeoutMs, opts.readyTimeoutMs ?? Number.POSITIVE_INFINITY);

  const client = new Client();
  return new Promise<Session>((resolve, reject) => {
    let settled = false;
    let hostKeyRefusal: string | undefined;
    const settle = (error: unknown, session?: Session) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (session) return resolve(session);
      client.destroy();
      reject(error);
    };
    const onAbort = () => settle(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });

    client.on('error', (error: Error & { level?: string; code?: string }) => {
      if (settled) return; // After ready, a broken connection shows as channels closing.
      if (hostKeyRefusal !== undefined) {
        return settle(fail('host-key-mismatch', `${where}: host key not trusted: ${hostKeyRefusal}`));
      }
      if (error.level === 'client-authentication') {
        const credential = options.secret ? ` with ${options.secret.ref}` : '';
        return settle(
          fail('auth-failed', `${where}: ${opts.auth ?? 'key'} authentication${credential} failed`),
        );
      }
      if (error.level === 'client-timeout') {
        return settle(
          fail('unreachable', `${where}: not logged in within ${readyTimeout} ms`, { cause: error }),
        );
      }
      if (error.level === 'client-socket') {
        return settle(fail('unreachable', `${where}: ${error.code ?? error.message}`, { cause: error }));
      }
      settle(fail('protocol', `${where}: SSH handshake failed: ${error.message}`, { cause: error }));
    });
    client.once('close', () => settle(fail('unreachable', `${where}: connection closed before login`)));
    client.once('ready', () =>
      settle(undefined, new SshSession(client, where, fail, target.os === 'linux' || target.os === 'macos')),
    );

    try {
      client.connect({
        host: target.host,
        port,
        username: user,
        readyTimeout,
        keepaliveInterval: opts.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_MS,
        keepaliveCountMax: 3,
        ...(hostKeys.algorithms ? { algorithms: { serverHostKey: hostKeys.algorithms } } : {}),
        ...auth,
        // Must not return a value: ssh2 treats any returned value as the synchronous verdict.
        hostVerifier: (blob: Buffer, verify: (valid: boolean) => void) => {
          hostKeys.check(blob).then(
            (refusal) => {
              hostKeyRefusal = refusal;
              verify(refusal === undefined);
            },
            (error: unknown) => {
              hostKeyRefusal = `cannot record it: ${(error as Error).message}`;
              verify(false);
            },
          );
        },
      } as ConnectConfig);
      // Each exec is a few small request/reply packets: Nagle's algorithm would hold them back.
      client.setNoDelay(true);
    } catch (error) {
      settle(fail('protocol', `${where}: ${(error as Error).message}`, { cause: error }));
    }
  });
}

/** ssh2 settings for one auth method; only that method is tried. Messages never quote the secret. */
function authConfig(
  method: string,
  secret: Secret | undefined,
  where: string,
  fail: Fail,
  utils: Ssh2['utils'],
): Partial<ConnectConfig> {
  if (method === 'agent') {
    const agent = process.env.SSH_AUTH_SOCK;
    if (!agent) throw fail('auth-failed', `${where}: auth 'agent' needs SSH_AUTH_SOCK, which is not set`);
    return { agent, authHandler: ['agent'] };
  }
  if (secret === undefined) throw fail('auth-failed', `${where}: auth '${method}' needs a credentialRef`);
  if (method === 'password') {
    return { password: secret.revealText(), authHandler: ['password'] };
  }
  const privateKey = secret.reveal();
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) {
    const why = /encrypted/i.test(parsed.message)
      ? 'is encrypted (passphrase-protected keys are not supported)'
      : 'is not a private key in OpenSSH or PEM format';
    throw fail('auth-failed', `${where}: the key in ${secret.ref} ${why}`);
  }
  return { privateKey, authHandler: ['publickey'] };
}
