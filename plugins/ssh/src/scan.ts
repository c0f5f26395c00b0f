import os from 'node:os';
import type { DeviceTarget, Fail, HostKeyScan, HostKeyScanOptions, HostKeyTrust } from 'rmm/plugin';
import type { ConnectConfig } from 'ssh2';
import { recordHostKey, trustStore } from './host-keys.js';
import { fingerprint, keyType } from './known-hosts.js';
import { knownHostsFailure } from './known-hosts-dirs.js';
import type { Ssh2 } from './load-ssh2.js';
import type { SshOptions } from './options.js';

/**
 * The SSH side of `rmm hostkeys scan`: ssh-keyscan's job done with ssh2. The key exchange runs with
 * the same host key algorithm order connect uses (types already trusted first), so the key scanned
 * is the key connect will be offered; the hostVerifier takes it and refuses, which ends the
 * connection before authentication: no credential is needed or sent.
 */
export function sshHostKeys(loadSsh2: () => Promise<Ssh2>, fail: Fail): HostKeyTrust {
  return {
    scan: (target, options) => scan(target, options, loadSsh2, fail),
    async record(target, scanned) {
      const opts = target.options as SshOptions;
      const trust = await trustStore(target.host, opts.port ?? 22, opts).catch((error: unknown) => {
        throw knownHostsFailure(fail, target.name, error);
      });
      const where = `${target.name} (${trust.name})`;
      if (trust.file === undefined)
        throw fail('protocol', `${where}: its host key is pinned by hostKeyFingerprint; nothing to record`);
      const verdict = await recordHostKey(trust.file, trust.name, scanned.key);
      if (verdict.status === 'changed' || verdict.status === 'revoked') {
        const listed =
          verdict.status === 'changed' ? `lists ${verdict.expected.join(', ')}` : 'marks it @revoked';
        throw fail('host-key-mismatch', `${where}: not recorded: ${trust.file} now ${listed} for this host`);
      }
    },
  };
}

async function scan(
  target: DeviceTarget,
  options: HostKeyScanOptions,
  loadSsh2: () => Promise<Ssh2>,
  fail: Fail,
): Promise<HostKeyScan> {
  const opts = target.options as SshOptions;
  const port = opts.port ?? 22;
  options.signal?.throwIfAborted();
  const trust = await trustStore(target.host, port, opts).catch((error: unknown) => {
    throw knownHostsFailure(fail, target.name, error);
  });
  const where = `${target.name} (${trust.name})`;
  const { Client } = await loadSsh2();
  const readyTimeout = Math.min(options.connectTimeoutMs, opts.readyTimeoutMs ?? Number.POSITIVE_INFINITY);
  const client = new Client();
  const blob = await new Promise<Buffer>((resolve, reject) => {
    let offered: Buffer | undefined;
    let settled = false;
    const settle = (error: unknown, key?: Buffer) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      client.destroy();
      if (key) resolve(key);
      else reject(error);
    };
    const onAbort = () => settle(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    client.on('error', (error: Error & { level?: string; code?: string }) => {
      if (offered) return settle(undefined, offered);
      if (error.level === 'client-timeout')
        return settle(
          fail('unreachable', `${where}: no key exchange within ${readyTimeout} ms`, { cause: error }),
        );
      if (error.level === 'client-socket')
        return settle(fail('unreachable', `${where}: ${error.code ?? error.message}`, { cause: error }));
      settle(fail('protocol', `${where}: SSH handshake failed: ${error.message}`, { cause: error }));
    });
    client.once('close', () =>
      offered
        ? settle(undefined, offered)
        : settle(fail('unreachable', `${where}: connection closed before the key exchange`)),
    );
    try {
      client.connect({
        host: target.host,
        port,
        username: opts.user ?? os.userInfo().username,
        readyTimeout,
        ...(trust.algorithms ? { algorithms: { serverHostKey: trust.algorithms } } : {}),
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          offered = Buffer.from(key);
          verify(false);
          settle(undefined, offered);
        },
      } as ConnectConfig);
    } catch (error) {
      settle(fail('protocol', `${where}: ${(error as Error).message}`, { cause: error }));
    }
  });
  const verdict = trust.classify(blob);
  return {
    keyType: keyType(blob),
    key: blob,
    fingerprint: fingerprint(blob),
    hostName: trust.name,
    status: verdict.status,
    store: trust.store,
    ...(verdict.status === 'changed' ? { expected: verdict.expected } : {}),
    recordable: trust.file !== undefined,
  };
}
