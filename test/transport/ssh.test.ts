import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshTransport } from '../../plugins/ssh/src/transport.js';
import {
  type ConnectOptions,
  type DeviceTarget,
  TRANSPORT_API_VERSION,
  TransportError,
} from '../../src/plugin/api.js';
import { describeTransportConformance } from '../../src/plugin/conformance.js';
import { freePort } from '../helpers/child-server.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';
import { connectError, testSecret } from '../helpers/transport.js';

const transport = createSshTransport({ apiVersion: TRANSPORT_API_VERSION, TransportError });

// One real sshd for the whole file: the conformance suite and the SSH-specific tests share it.
let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd();
  // The console allows the sshd's folder, where these tests keep their known_hosts files.
  process.env.RMM_KNOWN_HOSTS_DIRS = sshd.dir;
});
afterAll(async () => {
  await sshd?.stop();
});

function target(options: Record<string, unknown> = {}): DeviceTarget {
  return {
    name: 'sshd-test',
    host: '127.0.0.1',
    os: 'linux',
    options: { port: sshd.port, knownHosts: sshd.knownHostsPath, ...options },
  };
}

function keyLogin(): ConnectOptions {
  return {
    user: sshd.user,
    secret: testSecret(`file:${sshd.clientKeyPath}`, readFileSync(sshd.clientKeyPath)),
    connectTimeoutMs: 5000,
  };
}

async function newKey(name: string): Promise<{ path: string; publicKey: string }> {
  const file = path.join(sshd.dir, name);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return { path: file, publicKey: (await readFile(`${file}.pub`, 'utf8')).trim() };
}

describeTransportConformance('ssh', async () => {
  const stranger = await newKey('stranger_ed25519');
  return {
    transport,
    target: target(),
    connect: keyLogin(),
    unreachableTarget: target({ port: await freePort() }),
    badCredentials: { ...keyLogin(), secret: testSecret('file:stranger', await readFile(stranger.path)) },
    teardown: async () => {},
  };
});

describe('ssh transport', () => {
  it('refuses a host whose key differs from known_hosts, showing both fingerprints', async () => {
    const other = await newKey('other_host_ed25519');
    const knownHosts = path.join(sshd.dir, 'known_hosts_other');
    await writeFile(knownHosts, `[127.0.0.1]:${sshd.port} ${other.publicKey}\n`);
    const otherFingerprint = (await execa('ssh-keygen', ['-l', '-f', `${other.path}.pub`])).stdout.split(
      ' ',
    )[1];
    const error = await connectError(transport, target({ knownHosts }), keyLogin());
    expect(error.code).toBe('host-key-mismatch');
    expect(error.message).toContain(sshd.hostKeyFingerprint);
    expect(error.message).toContain(otherFingerprint);
  });

  it('refuses a host known_hosts does not list, under the strict policy', async () => {
    const knownHosts = path.join(sshd.dir, 'known_hosts_other_port');
    await writeFile(knownHosts, `[127.0.0.1]:1 ${sshd.hostPublicKey}\n`);
    const error = await connectError(transport, target({ knownHosts }), keyLogin());
    expect(error.code).toBe('host-key-mismatch');
    expect(error.message).toContain(sshd.hostKeyFingerprint);
  });

  it('accepts a pinned fingerprint and refuses a wrong one', async () => {
    const session = await transport.connect(
      target({ hostKeyFingerprint: sshd.hostKeyFingerprint }),
      keyLogin(),
    );
    expect((await session.exec('echo pinned')).stdout.toString()).toBe('pinned\n');
    await session.close();
    const wrong = `SHA256:${'A'.repeat(43)}`;
    const error = await connectError(transport, target({ hostKeyFingerprint: wrong }), keyLogin());
    expect(error.code).toBe('host-key-mismatch');
    expect(error.message).toContain(sshd.hostKeyFingerprint);
    expect(error.message).toContain(wrong);
  });

  it('accepts a hashed known_hosts entry', async () => {
    const knownHosts = path.join(sshd.dir, 'known_hosts_hashed');
    await writeFile(knownHosts, await readFile(sshd.knownHostsPath));
    await execa('ssh-keygen', ['-H', '-f', knownHosts]);
    expect(await readFile(knownHosts, 'utf8')).toMatch(/^\|1\|/);
    const session = await transport.connect(target({ knownHosts }), keyLogin());
    expect((await session.exec('echo hashed')).exitCode).toBe(0);
    await session.close();
  });

  it('records a new host under accept-new, and still refuses a changed key', async () => {
    const knownHosts = path.join(sshd.dir, 'new', 'known_hosts');
    const session = await transport.connect(target({ knownHosts, hostKeyPolicy: 'accept-new' }), keyLogin());
    await session.close();
    const [type, key] = sshd.hostPublicKey.split(' ');
    expect(await readFile(knownHosts, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ${type} ${key}\n`);
    // Recorded, so the strict policy now accepts it too.
    await (await transport.connect(target({ knownHosts }), keyLogin())).close();

    const other = await newKey('changed_host_ed25519');
    const changed = path.join(sshd.dir, 'known_hosts_changed');
    await writeFile(changed, `[127.0.0.1]:${sshd.port} ${other.publicKey}\n`);
    const error = await connectError(
      transport,
      target({ knownHosts: changed, hostKeyPolicy: 'accept-new' }),
      keyLogin(),
    );
    expect(error.code).toBe('host-key-mismatch');
    expect(await readFile(changed, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ${other.publicKey}\n`);
  });

  it('writes a new key once when a fan-out under accept-new reaches one host many times', async () => {
    const knownHosts = path.join(sshd.dir, 'fanout', 'known_hosts');
    const sessions = await Promise.all(
      Array.from({ length: 6 }, () =>
        transport.connect(target({ knownHosts, hostKeyPolicy: 'accept-new' }), keyLogin()),
      ),
    );
    await Promise.all(sessions.map((s) => s.close()));
    const [type, key] = sshd.hostPublicKey.split(' ');
    expect(await readFile(knownHosts, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ${type} ${key}\n`);
  });

  it('refuses a knownHosts outside the allowed folders, and writes nothing there', async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), 'rmm-not-allowed-'));
    try {
      const bashrc = path.join(outside, '.bashrc');
      await writeFile(bashrc, 'echo hi\n');
      const error = await connectError(
        transport,
        target({ knownHosts: bashrc, hostKeyPolicy: 'accept-new' }),
        keyLogin(),
      );
      expect(error.message).toContain(`knownHosts "${bashrc}" is outside the folders`);
      expect(error.message).toContain('RMM_KNOWN_HOSTS_DIRS');
      expect(await readFile(bashrc, 'utf8')).toBe('echo hi\n');
      // Nor are folders made outside them, nor does a link out of an allowed folder help.
      const deep = path.join(outside, 'new', 'known_hosts');
      await expect(
        transport.connect(target({ knownHosts: deep, hostKeyPolicy: 'accept-new' }), keyLogin()),
      ).rejects.toThrow(/is outside the folders/);
      expect(existsSync(path.join(outside, 'new'))).toBe(false);
      await symlink(outside, path.join(sshd.dir, 'link-out'));
      await expect(
        transport.connect(
          target({ knownHosts: path.join(sshd.dir, 'link-out', '.bashrc'), hostKeyPolicy: 'accept-new' }),
          keyLogin(),
        ),
      ).rejects.toThrow(/is outside the folders/);
      await expect(
        transport.connect(
          target({
            knownHosts: `${sshd.dir}/../${path.basename(outside)}/.bashrc`,
            hostKeyPolicy: 'accept-new',
          }),
          keyLogin(),
        ),
      ).rejects.toThrow(/has a "\.\."/);
      expect(await readFile(bashrc, 'utf8')).toBe('echo hi\n');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('reports a closed port as unreachable, retryable, nothing sent', async () => {
    const started = Date.now();
    const error = await connectError(transport, target({ port: await freePort() }), keyLogin());
    expect(error.code).toBe('unreachable');
    expect(error.commandSent).toBe(false);
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('honours abort signals on connect and exec', async () => {
    const aborted = AbortSignal.abort();
    await expect(transport.connect(target(), { ...keyLogin(), signal: aborted })).rejects.toMatchObject({
      name: 'AbortError',
    });
    const session = await transport.connect(target(), keyLogin());
    try {
      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(), 300);
      await expect(session.exec('sleep 30', { signal: controller.signal })).rejects.toMatchObject({
        name: 'AbortError',
      });
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await session.exec('echo after')).stdout.toString()).toBe('after\n');
    } finally {
      await session.close();
    }
  });

  it('never puts the secret in an error', async () => {
    const password = 'Tr0ub4dor-rmm-7f3a9c-do-not-print';
    const login = { ...keyLogin(), secret: testSecret('env:RMM_TEST_PASSWORD', `${password}\n`) };
    const error = await connectError(transport, target({ auth: 'password' }), login);
    expect(error.code).toBe('auth-failed');
    expect(error.message).toContain('env:RMM_TEST_PASSWORD');
    for (const text of [error.message, error.stack ?? '', inspect(error, { depth: 5 })]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain('Tr0ub4dor');
    }
    // A key that is not a key: the message names the reference, not the content.
    const garbage = { ...keyLogin(), secret: testSecret('env:RMM_TEST_KEY', password) };
    const keyError = await connectError(transport, target(), garbage);
    expect(keyError.code).toBe('auth-failed');
    expect(inspect(keyError, { depth: 5 })).not.toContain('Tr0ub4dor');
  });
});
