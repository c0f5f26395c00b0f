import { readFileSync } from 'node:fs';
import type { ConnectOptions, DeviceTarget, Fail, Session } from 'rmm/plugin';
import { WinrmConnection } from './connection.js';
import { ConnectionError } from './connection-error.js';
import { BASIC_OVER_HTTP, type WinrmOptions } from './options.js';
import { WinrmShell } from './shell.js';

/** Connects, authenticates and creates the device's shell: the session every command runs in. */
export async function openSession(
  target: DeviceTarget,
  options: ConnectOptions,
  fail: Fail,
): Promise<Session> {
  const opts = target.options as WinrmOptions;
  const scheme = opts.scheme ?? 'http';
  const auth = opts.auth ?? 'ntlm';
  const port = opts.port ?? (scheme === 'https' ? 5986 : 5985);
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const url = new URL(`${scheme}://${host}:${port}${opts.path ?? '/wsman'}`);
  const where = `${target.name} (${url.href})`;
  options.signal?.throwIfAborted();
  if (auth === 'basic' && scheme === 'http') throw fail('auth-failed', `${where}: ${BASIC_OVER_HTTP}`);
  if (!options.secret)
    throw fail('auth-failed', `${where}: WinRM needs a password: set the device's credentialRef`);
  const login = options.user ?? opts.user;
  if (!login) throw fail('auth-failed', `${where}: WinRM needs a user: set spec.transport.user`);
  const { user, domain } = splitLogin(login);
  const password = options.secret.revealText();
  const connection = new WinrmConnection({
    url,
    auth,
    user,
    password,
    ...(domain ? { domain } : {}),
    ...(scheme === 'https' ? { tls: tlsOptions(opts, where, fail) } : {}),
    connectTimeoutMs: options.connectTimeoutMs,
  });
  try {
    await connection.open(options.signal);
    return await WinrmShell.open(
      connection,
      {
        url: url.href,
        maxEnvelopeSize: opts.maxEnvelopeSize ?? 153_600,
        operationTimeoutSec: opts.operationTimeoutSec ?? 20,
        codepage: opts.codepage ?? 65_001,
        connectTimeoutMs: options.connectTimeoutMs,
        where,
        fail,
        typed: (error, commandSent) => typed(error, where, fail, commandSent),
      },
      options.signal,
    );
  } catch (error) {
    connection.close();
    throw typed(error, where, fail, false);
  }
}

/** `DOMAIN\user` for NTLM's domain field; `user@domain` (UPN) goes whole, as Windows accepts it. */
function splitLogin(login: string): { user: string; domain?: string } {
  const slash = login.indexOf('\\');
  if (slash < 0) return { user: login };
  return { domain: login.slice(0, slash), user: login.slice(slash + 1) };
}

function tlsOptions(opts: WinrmOptions, where: string, fail: Fail) {
  const tls = opts.tls ?? {};
  let ca: Buffer | undefined;
  if (tls.caFile) {
    try {
      ca = readFileSync(tls.caFile);
    } catch (error) {
      throw fail('protocol', `${where}: cannot read tls.caFile ${tls.caFile}: ${(error as Error).message}`);
    }
  }
  return {
    verify: tls.verify !== false,
    ...(ca ? { ca } : {}),
    ...(tls.fingerprint ? { fingerprint256: tls.fingerprint } : {}),
  };
}

/** A ConnectionError as the plugin API's typed error. */
export function typed(error: unknown, where: string, fail: Fail, commandSent: boolean): Error {
  if (!(error instanceof ConnectionError)) return error as Error;
  const message = `${where}: ${error.message}`;
  const options = { cause: error, commandSent };
  switch (error.kind) {
    case 'connect':
      return fail('unreachable', message, options);
    case 'dropped':
      return fail(
        'unreachable',
        commandSent ? `${message}; the command may or may not have run` : message,
        options,
      );
    case 'tls':
      return fail('host-key-mismatch', message, options);
    case 'auth':
      return fail('auth-failed', message, options);
    case 'timeout':
      return fail(commandSent ? 'timed-out' : 'unreachable', message, options);
    case 'aborted':
      return new Error(`${where}: cancelled`, { cause: error });
    default:
      return fail('protocol', message, options);
  }
}
