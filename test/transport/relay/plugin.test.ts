import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRelayOptions } from '../../../plugins/relay/src/option-checks.js';
import { pluginSchemaAjv } from '../../../src/resources/ajv.js';
import { runCli } from '../../helpers/cli.js';
import { relayTransport } from './far-side.js';

/** The relay plugin as rmm loads it, and what its options allow. */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-relay-plugin-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the relay plugin', () => {
  it('loads through its hook as a queued transport', async () => {
    const result = await runCli(['transports', '--json'], { cwd: dir });
    expect(result.exitCode, result.stderr).toBe(0);
    const relay = JSON.parse(result.stdout).transports.find((t: { name: string }) => t.name === 'relay');
    expect(relay).toMatchObject({
      plugin: '@rmm/transport-relay',
      capabilities: { powershell: true, fileTransfer: false, queued: true },
    });
  });

  it('is no type for a device: a device reaches a relay through its site', async () => {
    expect((await runCli(['init'], { cwd: dir })).exitCode).toBe(0);
    const file = path.join(dir, 'device.yaml');
    await writeFile(
      file,
      'apiVersion: rmm/v1\nkind: Device\nmetadata: {name: web-01}\nspec: {site: main, transport: {type: relay}}\n',
    );
    const result = await runCli(['validate', '-f', file], { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      `${file}:4:38: Device/web-01: no installed plugin provides the transport "relay" (installed: smb, ssh, winrm;`,
    );
  });

  describe('options', () => {
    const valid = pluginSchemaAjv().compile(relayTransport().optionsSchema);
    it.each([
      [{ servers: ['tls://nats.example.net:4222'] }, true],
      [
        {
          servers: ['tls://a:4222', 'tls://b:4222'],
          user: 'rmm-console',
          tls: { caFile: '/etc/rmm/ca.pem' },
        },
        true,
      ],
      [{ servers: [] }, false],
      [{}, false],
      [{ servers: ['http://nats.example.net'] }, false],
      // A password in the URL: only the Relay's credentialRef may carry one.
      [{ servers: ['nats://rmm:hunter2@nats.example.net:4222'] }, false],
      [{ servers: ['tls://a:4222'], credentialRef: 'env:X' }, false],
      [{ servers: ['tls://a:4222'], tls: { certFile: '/c.pem' } }, false],
      [{ servers: ['tls://a:4222'], tls: { verify: false } }, false],
    ])('%j valid: %s', (options, expected) => {
      expect(valid(structuredClone(options))).toBe(expected);
    });

    it('defaults the console user', () => {
      const options = { servers: ['tls://a:4222'] } as Record<string, unknown>;
      valid(options);
      expect(options.user).toBe('rmm-console');
    });

    it('warn of plain NATS to another machine, and refuse TLS files rmm cannot read', () => {
      expect(checkRelayOptions({ servers: ['nats://127.0.0.1:4222', 'nats://localhost:4222'] })).toEqual([]);
      expect(
        checkRelayOptions({
          servers: ['tls://nats.example.net:4222', 'nats://nats.example.net:4222'],
          tls: { caFile: path.join(dir, 'missing-ca.pem') },
        }),
      ).toEqual([
        {
          path: ['servers', 1],
          severity: 'warning',
          message:
            "nats://nats.example.net:4222 is plain NATS to another machine: the console's password and every action cross the network unencrypted; for labs only, use tls://",
        },
        {
          path: ['tls', 'caFile'],
          severity: 'error',
          message: `${path.join(dir, 'missing-ca.pem')} cannot be read by rmm here; every connection to this relay's NATS would fail`,
        },
      ]);
    });
  });
});
