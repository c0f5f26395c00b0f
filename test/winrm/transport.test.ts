import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUT_SCRIPT, transferScript } from '../../plugins/winrm/src/transfer.js';
import { createWinrmTransport } from '../../plugins/winrm/src/transport.js';
import { powershellInvocation } from '../../src/actions/powershell.js';
import {
  type ConnectOptions,
  type DeviceTarget,
  TRANSPORT_API_VERSION,
  TransportError,
} from '../../src/plugin/api.js';
import { describeTransportConformance } from '../../src/plugin/conformance.js';
import { freePort } from '../helpers/child-server.js';
import { connectError, testSecret } from '../helpers/transport.js';
import { startWinrmPeer, type WinrmPeer } from '../helpers/winrm-peer/index.js';
import { UNSEALED_FAULT_TEXT } from '../helpers/winrm-peer/types.js';
import { transferEmulator } from './transfer-emulator.js';

/**
 * The WinRM plugin against the WS-Management test peer (test/helpers/winrm-peer), which pywinrm
 * checks independently (peer.test.ts): HTTP with NTLM message encryption, HTTPS with Basic and
 * with NTLM. The peer runs cmd commands through the local shell, so the POSIX conformance suite
 * applies; PowerShell it records instead of running.
 */
const transport = createWinrmTransport({ apiVersion: TRANSPORT_API_VERSION, TransportError });
const USER = 'rmm-admin';
const PASSWORD = 'S3cret-pässword!';

const secret = (value: string) => testSecret('env:RMM_WINRM_PASSWORD', value);

function target(peer: WinrmPeer, options: Record<string, unknown> = {}): DeviceTarget {
  return { name: 'winrm-test', host: '127.0.0.1', os: 'windows', options: { port: peer.port, ...options } };
}

function login(password = PASSWORD): ConnectOptions {
  return { user: USER, secret: secret(password), connectTimeoutMs: 5000 };
}

let http: WinrmPeer;
let https: WinrmPeer;
beforeAll(async () => {
  const onPowershell = transferEmulator();
  [http, https] = await Promise.all([
    startWinrmPeer({ users: { [USER]: PASSWORD }, auth: ['ntlm'], onPowershell }),
    startWinrmPeer({ users: { [USER]: PASSWORD }, https: true, auth: ['basic', 'ntlm'], onPowershell }),
  ]);
});
afterAll(async () => {
  await Promise.all([http?.stop(), https?.stop()]);
});

describeTransportConformance('winrm over http (NTLM, message encryption)', async () => ({
  transport,
  target: target(http),
  connect: login(),
  unreachableTarget: { ...target(http), options: { port: await freePort() } },
  badCredentials: login('wrong'),
  posixFileModes: false,
  teardown: async () => {},
}));

describeTransportConformance('winrm over https (Basic)', async () => ({
  transport,
  target: target(https, {
    scheme: 'https',
    auth: 'basic',
    tls: { fingerprint: https.certificateFingerprint256 },
  }),
  connect: login(),
  unreachableTarget: { ...target(https), options: { scheme: 'https', port: await freePort() } },
  badCredentials: login('wrong'),
  posixFileModes: false,
  teardown: async () => {},
}));

describe('winrm transport', () => {
  it('runs over https with NTLM, trusting the certificate through tls.caFile', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-winrm-ca-'));
    try {
      const caFile = path.join(dir, 'ca.pem');
      await writeFile(caFile, https.certificatePem ?? '');
      const session = await transport.connect(target(https, { scheme: 'https', tls: { caFile } }), login());
      try {
        const result = await session.exec('echo over-tls');
        expect(result.stdout.toString()).toBe('over-tls\n');
      } finally {
        await session.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an untrusted or wrongly pinned certificate before sending credentials', async () => {
    const before = https.stats.authentications;
    const untrusted = await connectError(
      transport,
      target(https, { scheme: 'https', auth: 'basic' }),
      login(),
    );
    expect(untrusted.code).toBe('host-key-mismatch');
    expect(untrusted.message).toMatch(/not trusted.*tls\.caFile/);
    const pin = `${'AB:'.repeat(31)}AB`;
    const pinned = await connectError(
      transport,
      target(https, { scheme: 'https', auth: 'basic', tls: { fingerprint: pin } }),
      login(),
    );
    expect(pinned.code).toBe('host-key-mismatch');
    expect(pinned.message).toContain(https.certificateFingerprint256);
    expect(https.stats.authentications).toBe(before);
  });

  it('refuses Basic over plain http without connecting', async () => {
    const connections = http.stats.connections;
    const error = await connectError(transport, target(http, { auth: 'basic' }), login());
    expect(error.code).toBe('auth-failed');
    expect(error.message).toMatch(/Basic authentication over plain HTTP/);
    expect(http.stats.connections).toBe(connections);
  });

  it('never shows the password in errors', async () => {
    const error = await connectError(transport, target(http), login('wrong-Pa55'));
    expect(error.code).toBe('auth-failed');
    expect(inspect(error)).not.toContain('wrong-Pa55');
  });

  it('reuses one shell for every command of a session', async () => {
    const created = http.stats.shellsCreated;
    const session = await transport.connect(target(http), login());
    try {
      for (let i = 0; i < 5; i++) expect((await session.exec(`echo ${i}`)).stdout.toString()).toBe(`${i}\n`);
    } finally {
      await session.close();
    }
    expect(http.stats.shellsCreated).toBe(created + 1);
    expect(http.stats.shellsOpen).toBe(0);
  });

  it('delivers a 40 KB PowerShell script byte-exact through the stdin bootstrap', async () => {
    const lines = Array.from(
      { length: 800 },
      (_, i) => `Write-Output "line ${i}: äöü – ${'x'.repeat(i % 17)}" # ${randomBytes(4).toString('hex')}`,
    );
    const script = `${lines.join('\r\n')}\r\n`;
    expect(script.length).toBeGreaterThan(40_000);
    const invocation = powershellInvocation(script);
    expect(invocation.stdin).toBe(script);
    const before = http.powershell.length;
    const session = await transport.connect(target(http), login());
    try {
      const result = await session.exec(invocation.command, { stdin: invocation.stdin ?? '' });
      expect(result.exitCode).toBe(0);
    } finally {
      await session.close();
    }
    const recorded = http.powershell.slice(before);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.script).toContain('[Console]::In.ReadToEnd()');
    expect(recorded[0]?.stdin.equals(Buffer.from(script, 'utf8'))).toBe(true);
  });

  it('round-trips a 2 MB file with matching checksums, and reports a checksum mismatch', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-winrm-transfer-'));
    const session = await transport.connect(target(http), login());
    try {
      const data = randomBytes(2 * 1024 * 1024 + 17);
      await writeFile(path.join(dir, 'sent'), data);
      const remote = path.join(dir, "remote file's copy.bin");
      await session.putFile(path.join(dir, 'sent'), remote);
      await session.fetchFile(remote, path.join(dir, 'fetched'));
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      expect(sha(await readFile(remote))).toBe(sha(data));
      expect(sha(await readFile(path.join(dir, 'fetched')))).toBe(sha(data));
      const missing = await session
        .fetchFile(path.join(dir, 'no-such-file'), path.join(dir, 'x'))
        .catch((e: unknown) => e as TransportError);
      expect(missing).toBeInstanceOf(TransportError);
      expect((missing as TransportError).message).toMatch(/fetch .*no-such-file failed/);
    } finally {
      await session.close();
      await rm(dir, { recursive: true, force: true });
    }
    expect(transferScript(PUT_SCRIPT, "C:\\it's here").split('\n')[2]).toBe("$path = 'C:\\it''s here'");
  });

  it('retries Receives that time out on the server (WSManFault 2150858793)', async () => {
    const session = await transport.connect(target(http), login());
    try {
      http.faults.receiveTimeouts = 3;
      const result = await session.exec('echo after-timeouts');
      expect(result.stdout.toString()).toBe('after-timeouts\n');
      expect(http.faults.receiveTimeouts).toBe(0);
    } finally {
      http.faults.receiveTimeouts = 0;
      await session.close();
    }
  });

  it('reports a connection dropped mid-command as unreachable, not retried, and the session recovers', async () => {
    const session = await transport.connect(target(http), login());
    try {
      http.faults.dropConnectionOnCommand = 1;
      const error = await session.exec('echo lost').catch((e: unknown) => e as TransportError);
      expect(error).toBeInstanceOf(TransportError);
      expect((error as TransportError).code).toBe('unreachable');
      expect((error as TransportError).retryable).toBe(false);
      expect((error as TransportError).message).toMatch(/may or may not have run/);
      // A new connection and a new security context, the same shell.
      expect((await session.exec('echo again')).stdout.toString()).toBe('again\n');
    } finally {
      http.faults.dropConnectionOnCommand = 0;
      await session.close();
    }
  });

  it.each([
    ['a 500 SOAP fault', 'unsealedFaults', 500],
    ['a 401', 'unsealedUnauthorized', 401],
  ] as const)(
    'refuses %s in clear on a sealed connection, unread, without sending the command again',
    async (_, fault, status) => {
      const session = await transport.connect(target(http), login());
      const { commands, authentications } = http.stats;
      try {
        http.faults[fault] = 1;
        const error = await session.exec('echo once').catch((e: unknown) => e as TransportError);
        expect(error).toBeInstanceOf(TransportError);
        expect((error as TransportError).code).toBe('protocol');
        expect((error as TransportError).message).toContain(
          `the server answered a sealed message with an unsealed reply (HTTP ${status}); it was not read`,
        );
        expect((error as TransportError).message).not.toContain(UNSEALED_FAULT_TEXT);
        expect((error as TransportError).message).not.toContain('InternalError');
        // Not sent again (a 401 once meant "authenticate and resend"), nor authenticated again yet.
        expect(http.stats.commands).toBe(commands);
        expect(http.stats.authentications).toBe(authentications);
        // The next message sets up a new security context; the sealed path works as before.
        expect((await session.exec('echo sealed')).stdout.toString()).toBe('sealed\n');
        expect(http.stats.authentications).toBe(authentications + 1);
      } finally {
        http.faults[fault] = 0;
        await session.close();
      }
    },
  );

  it('on abort (Ctrl-C) stops the command on the device and keeps the session usable', async () => {
    const session = await transport.connect(target(http), login());
    try {
      const marker = `rmm-abort-${randomBytes(6).toString('hex')}`;
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('cancelled')), 300);
      const started = Date.now();
      const error = await session
        .exec(`sh -c 'sleep 30' ${marker}`, { signal: controller.signal })
        .catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      expect(Date.now() - started).toBeLessThan(10_000);
      const pattern = `[${marker.slice(0, 1)}]${marker.slice(1)}`;
      expect((await session.exec(`pgrep -f '${pattern}'`)).exitCode).toBe(1);
    } finally {
      await session.close();
    }
    expect(http.stats.shellsOpen).toBe(0);
  });

  it('answers an oversized envelope (HTTP 413) with a protocol error naming maxEnvelopeSize', async () => {
    const session = await transport.connect(target(http, { maxEnvelopeSize: 1_000_000 }), login());
    try {
      const error = await session
        .exec(`echo ${'x'.repeat(200_000)}`)
        .catch((e: unknown) => e as TransportError);
      expect((error as TransportError).code).toBe('protocol');
      expect((error as TransportError).message).toMatch(/413.*maxEnvelopeSize/);
    } finally {
      await session.close();
    }
  });

  it('keeps stdin Sends under the envelope limit', async () => {
    const session = await transport.connect(target(http, { maxEnvelopeSize: 16_384 }), login());
    try {
      const input = randomBytes(200_000).toString('base64');
      const result = await session.exec('cat', { stdin: input });
      expect(result.stdout.toString()).toBe(input);
    } finally {
      await session.close();
    }
  });

  it('times out against a slow server as unreachable at connect, and as timed-out during a command', async () => {
    http.faults.delayMs = 1500;
    try {
      const error = await connectError(transport, target(http), { ...login(), connectTimeoutMs: 500 });
      expect(error.code).toBe('unreachable');
      expect(error.retryable).toBe(true);
    } finally {
      http.faults.delayMs = 0;
    }
    const session = await transport.connect(target(http), login());
    try {
      const error = await session
        .exec('sleep 5', { timeoutMs: 1000 })
        .catch((e: unknown) => e as TransportError);
      expect((error as TransportError).code).toBe('timed-out');
    } finally {
      await session.close();
    }
  });
});
