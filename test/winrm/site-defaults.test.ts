import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { applyDevices } from '../helpers/ssh-workspace.js';
import { startWinrmPeer, type WinrmPeer } from '../helpers/winrm-peer/index.js';

/**
 * A site's transport defaults apply only to devices of their transport type (issue 10 item 2): a
 * WinRM device in a site whose default is SSH is reached with its own block alone, and
 * `rmm get devices NAME` shows the block each device is reached with and where each value came from.
 */
const PASSWORD = 'Winrm-Pa55!';
let peer: WinrmPeer;
let cwd: string;
let env: Record<string, string>;
const rmm = (...args: string[]) => runCli(args, { cwd, env });

beforeAll(async () => {
  peer = await startWinrmPeer({ users: { administrator: PASSWORD }, auth: ['ntlm'] });
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-site-defaults-'));
  env = { RMM_WINRM_PASSWORD: PASSWORD };
  await applyDevices(
    { cwd, env },
    [
      'apiVersion: rmm/v1',
      'kind: Site',
      'metadata: {name: lab}',
      'spec:',
      '  defaults:',
      '    transport: {type: ssh, port: 22, user: root, hostKeyPolicy: strict, credentialRef: "env:RMM_SSH_KEY"}',
      '---',
      'apiVersion: rmm/v1',
      'kind: Device',
      'metadata: {name: win-01}',
      'spec:',
      '  site: lab',
      '  address: 127.0.0.1',
      '  os: windows',
      `  transport: {type: winrm, port: ${peer.port}, user: administrator, credentialRef: "env:RMM_WINRM_PASSWORD"}`,
      '---',
      'apiVersion: rmm/v1',
      'kind: Device',
      'metadata: {name: linux-01}',
      'spec:',
      '  site: lab',
      '  address: 127.0.0.1',
      '  os: linux',
      '  transport: {port: 2222}',
      '',
    ].join('\n'),
  );
}, 60_000);
afterAll(async () => {
  await peer?.stop();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe("a site's transport defaults", () => {
  it('do not reach a device of another transport type', async () => {
    const result = await rmm('exec', '-t', 'name=win-01', '--json', '--', 'echo', 'reached');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const done = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((e) => e.type === 'action' && e.status !== 'Running');
    expect(done).toMatchObject({ device: 'win-01', status: 'Succeeded', stdout: 'reached\n' });
  }, 60_000);

  it('are shown, with where each value came from, by rmm get devices NAME', async () => {
    const json = await rmm('get', 'devices', 'win-01', '-o', 'json');
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)[0].effectiveTransport).toEqual({
      type: 'winrm',
      block: {
        type: 'winrm',
        port: peer.port,
        user: 'administrator',
        credentialRef: 'env:RMM_WINRM_PASSWORD',
      },
      from: { type: 'device', port: 'device', user: 'device', credentialRef: 'device' },
      siteDefault: { site: 'lab', type: 'ssh', applies: false },
      via: 'direct',
    });

    const linux = await rmm('get', 'devices', 'linux-01', '-o', 'yaml');
    expect(linux.exitCode, linux.stderr).toBe(0);
    expect(linux.stdout).toContain(
      [
        'effectiveTransport:',
        '  type: ssh',
        '  block:',
        '    type: ssh',
        '    port: 2222',
        '    user: root',
        '    hostKeyPolicy: strict',
        '    credentialRef: env:RMM_SSH_KEY',
        '  from:',
        '    type: site',
        '    port: device',
        '    user: site',
        '    hostKeyPolicy: site',
        '    credentialRef: site',
        '  via: direct',
        '  siteDefault:',
        '    site: lab',
        '    type: ssh',
        '    applies: true',
      ].join('\n'),
    );

    const text = await rmm('get', 'devices', 'win-01');
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout.split('\n').slice(3)).toEqual([
      'Transport (what rmm connects with):',
      '  type           winrm                   device',
      `  port           ${String(peer.port).padEnd(24)}device`,
      '  user           administrator           device',
      '  credentialRef  env:RMM_WINRM_PASSWORD  device',
      '  Route: direct (rmm connects from this console)',
      '  The default of site "lab" is for ssh devices; it does not apply to this winrm device.',
    ]);
  }, 60_000);
});
