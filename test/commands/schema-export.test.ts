import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAjv } from '../../src/resources/ajv.js';
import { runCli } from '../helpers/cli.js';

/** rmm schema export writes the kinds' schemas and the installed transports' option schemas. */
let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-schema-export-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm schema export', () => {
  it("writes transport-<type>.schema.json per installed transport, and the device schema checks a block's options", async () => {
    const result = await runCli(['schema', 'export', '--dir', 'out', '--json'], { cwd });
    expect(result.exitCode, result.stderr).toBe(0);
    const { files } = JSON.parse(result.stdout) as { files: string[] };
    expect(files.map((f) => path.basename(f)).sort()).toEqual([
      'alert-route.schema.json',
      'device-group.schema.json',
      'device.schema.json',
      'notification-channel.schema.json',
      'policy.schema.json',
      'relay.schema.json',
      'resource.schema.json',
      'site.schema.json',
      'transport-smb.schema.json',
      'transport-ssh.schema.json',
      'transport-winrm.schema.json',
    ]);
    const read = async (name: string) => JSON.parse(await readFile(path.join(cwd, 'out', name), 'utf8'));
    const ssh = await read('transport-ssh.schema.json');
    expect(Object.keys(ssh.properties)).toEqual(
      expect.arrayContaining([
        'type',
        'credentialRef',
        'auth',
        'knownHosts',
        'hostKeyPolicy',
        'hostKeyFingerprint',
      ]),
    );
    expect(ssh.properties.hostKeyPolicy.description).toContain('accept-new');

    // An editor pointed at device.schema.json alone checks the options of the type a block names.
    const device = createAjv().compile(await read('device.schema.json'));
    const withTransport = (transport: object) => ({
      apiVersion: 'rmm/v1',
      kind: 'Device',
      metadata: { name: 'web-01' },
      spec: { site: 'main', address: '10.0.0.1', transport },
    });
    expect(device(withTransport({ type: 'ssh', knownHosts: '~/.ssh/rmm_known_hosts' }))).toBe(true);
    expect(device(withTransport({ type: 'ssh', hostKeyPolicy: 'trust-all' }))).toBe(false);
    expect(device(withTransport({ type: 'winrm', scheme: 'https', tls: { caFile: '/etc/ca.pem' } }))).toBe(
      true,
    );
    expect(device(withTransport({ type: 'winrm', knownHosts: '~/.ssh/known_hosts' }))).toBe(false);
  });
});
