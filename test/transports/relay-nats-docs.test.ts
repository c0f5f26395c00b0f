import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsGrants, renderNatsAuthorization } from '../../src/transports/nats-authorization.js';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { makeThrowawayCertificate } from '../helpers/winrm-peer/certificate.js';
import { FarSide, openQueue, route, secret } from '../transport/relay/far-side.js';

/**
 * docs/relay-nats.md's nats-server.conf, as written (its paths and port moved into a temp folder),
 * run by Debian's nats-server with the generated authorization: the console's queue and a relay
 * work through it over TLS, and a client without TLS is turned away.
 */
const PASSWORDS = {
  RMM_NATS_CONSOLE_PASSWORD: 'console-pw-2c1d',
  RMM_NATS_RELAY_ALPHA_PASSWORD: 'alpha-pw-88e0',
};
let nats: NatsServer;
let caFile: string;

function documentedConf(): string {
  const docs = readFileSync('docs/relay-nats.md', 'utf8');
  const section = docs.split(/^## /m).find((s) => s.startsWith('nats-server.conf'));
  const conf = section && /```conf\n([\s\S]*?)```/.exec(section)?.[1];
  if (!conf) throw new Error('docs/relay-nats.md has no conf block under ## nats-server.conf');
  return conf;
}

beforeAll(async () => {
  const cert = await makeThrowawayCertificate();
  const conf = documentedConf();
  nats = await startNatsServer({
    env: PASSWORDS,
    files: {
      'server.pem': cert.certificatePem,
      'server-key.pem': cert.keyPem,
      'rmm-authorization.conf': renderNatsAuthorization(
        natsGrants({ consoleUser: 'rmm-console', relays: ['relay-alpha'] }),
      ),
    },
    configFile: ({ port, storeDir, dir }) => {
      const moved = conf
        .replace('listen: 0.0.0.0:4222', `listen: 127.0.0.1:${port}`)
        .replace('/var/lib/nats/jetstream', storeDir)
        .replace('/etc/nats/tls/server.pem', path.join(dir, 'server.pem'))
        .replace('/etc/nats/tls/server-key.pem', path.join(dir, 'server-key.pem'));
      // Each replaced line must have been there: a doc edit that renames one fails here.
      const settings = moved.split('\n').filter((line) => !line.trim().startsWith('#'));
      expect(settings.join('\n')).not.toMatch(/0\.0\.0\.0|\/var\/lib|\/etc\/nats/);
      caFile = path.join(dir, 'server.pem');
      return moved;
    },
  });
});
afterAll(async () => {
  await nats?.remove();
});

describe("docs/relay-nats.md's nats-server.conf", () => {
  it('runs the console and a relay over TLS, with the generated authorization', async () => {
    const url = `tls://127.0.0.1:${nats.port}`;
    const queue = await openQueue(route('relay-alpha', [url], { tls: { caFile } }), {
      secret: secret(PASSWORDS.RMM_NATS_CONSOLE_PASSWORD),
    });
    const { connect } = await import('@nats-io/transport-node');
    const relay = await FarSide.connect(url, 'relay-alpha', {
      user: 'relay-alpha',
      pass: PASSWORDS.RMM_NATS_RELAY_ALPHA_PASSWORD,
      tls: { caFile },
    });
    try {
      const id = randomUUID();
      const [outcome] = await queue.submit([
        {
          actionId: id,
          type: 'exec',
          device: { name: 'web-01', host: '10.0.0.5', os: 'linux', transport: { type: 'ssh' } },
          command: 'uptime',
          timeoutMs: 60_000,
          connectTimeoutMs: 10_000,
          expiresAt: '2026-12-04T02:00:00.000Z',
        },
      ]);
      expect(outcome?.accepted).toBe(true);
      const [work] = await relay.pull(1);
      expect(work?.headers?.get('Nats-Msg-Id')).toBe(id);
      await work?.ackAck();
      // Without TLS, the server does not talk.
      await expect(
        connect({ servers: `nats://127.0.0.1:${nats.port}`, tls: null, timeout: 2000 }),
      ).rejects.toThrow();
    } finally {
      await relay.close();
      await queue.close();
    }
  });
});
