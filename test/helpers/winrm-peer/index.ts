import type { AddressInfo } from 'node:net';
import { makeThrowawayCertificate } from './certificate.js';
import { Authenticator } from './http-auth.js';
import { ShellService } from './shell-service.js';
import type { PeerFaults, PeerStats, PowershellRecord, WinrmPeer, WinrmPeerOptions } from './types.js';
import { createWsmanServer } from './wsman-server.js';

export type {
  AuthScheme,
  PeerFaults,
  PeerStats,
  PowershellAnswer,
  PowershellHandler,
  PowershellRecord,
  WinrmPeer,
  WinrmPeerOptions,
} from './types.js';

/**
 * A WS-Management (WinRM) server for tests, on 127.0.0.1, that behaves like a default Windows
 * listener as far as clients can tell: NTLM with message encryption on HTTP, Basic and/or NTLM on
 * HTTPS, the cmd shell's operations with Windows' replies and faults. Commands run through the
 * local `sh`; `powershell -EncodedCommand` is recorded and answered by `onPowershell`.
 *
 * Where the Windows behaviour comes from: the reply and fault shapes follow traffic recorded from
 * Windows in pywinrm's and pypsrp's test fixtures (tests/responses/test_winrs_*.yml); the 413 for an
 * oversized envelope follows what clients report from Windows (ansible.windows issues 391 and 620);
 * the empty 500 for plain SOAP on HTTP follows pywinrm issues 129 and 208; error codes are
 * wsmerror.h's. pywinrm (test/winrm/peer.test.ts) checks the peer independently.
 */
export async function startWinrmPeer(options: WinrmPeerOptions): Promise<WinrmPeer> {
  const useHttps = options.https === true;
  const auth = options.auth ?? ['ntlm'];
  if (!useHttps && auth.includes('basic'))
    throw new Error('a default WinRM HTTP listener refuses Basic; use https: true for Basic');
  if (auth.length === 0) throw new Error('at least one auth scheme is needed');
  const stats: PeerStats = {
    shellsCreated: 0,
    shellsOpen: 0,
    commands: 0,
    connections: 0,
    authentications: 0,
  };
  const faults: PeerFaults = {
    receiveTimeouts: 0,
    dropConnectionOnCommand: 0,
    delayMs: 0,
    rejectAuth: false,
    unsealedFaults: 0,
    unsealedUnauthorized: 0,
    ...options.faults,
  };
  const powershell: PowershellRecord[] = [];
  const certificate = useHttps ? await makeThrowawayCertificate() : undefined;
  const shells = new ShellService({
    maxShellsPerUser: options.maxShellsPerUser ?? 5,
    onPowershell: options.onPowershell,
    powershell,
    stats,
    faults,
  });
  const server = createWsmanServer({
    tls: certificate,
    authenticator: new Authenticator(options.users, auth, useHttps, stats),
    shells,
    maxEnvelopeSize: options.maxEnvelopeSize ?? 153_600,
    faults,
    stats,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A deep backlog: benchmarks open hundreds of connections at once.
    server.listen({ port: options.port ?? 0, host: '127.0.0.1', backlog: 1024 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const scheme = useHttps ? 'https' : 'http';
  let stopped: Promise<void> | undefined;
  return {
    port,
    host: '127.0.0.1',
    url: `${scheme}://127.0.0.1:${port}/wsman`,
    scheme,
    ...(certificate && {
      certificatePem: certificate.certificatePem,
      certificateFingerprint256: certificate.fingerprint256,
    }),
    powershell,
    stats,
    faults,
    stop() {
      stopped ??= (async () => {
        shells.closeAll();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      })();
      return stopped;
    },
  };
}
