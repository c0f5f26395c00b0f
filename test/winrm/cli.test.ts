import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_2022 } from '../fixtures/inventory/windows.js';
import { freePort } from '../helpers/child-server.js';
import { runCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { applyDevices } from '../helpers/ssh-workspace.js';
import { startWinrmPeer, type WinrmPeer } from '../helpers/winrm-peer/index.js';

/**
 * rmm itself (the CLI, with the WinRM plugin loaded through oclif) against the WS-Management test
 * peer over HTTP with NTLM message encryption: exec, exec --powershell, inventory collect.
 */
const PASSWORD = 'Winrm-Pa55!';
let peer: WinrmPeer;
let cwd: string;
let env: Record<string, string>;
let collectorScript: string;
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const query = <T>(sql: string) => queryFile<T>(path.join(cwd, 'data', 'devices.db'), sql);

beforeAll(async () => {
  collectorScript = await readFile(
    path.join(process.cwd(), 'collectors', 'windows', 'inventory.ps1'),
    'utf8',
  );
  peer = await startWinrmPeer({
    users: { administrator: PASSWORD },
    auth: ['ntlm'],
    // The collector arrives on stdin through the bootstrap; answer it as Windows Server 2022 would.
    onPowershell: async (script, stdin) => {
      if (stdin.toString('utf8') === collectorScript) return { stdout: SERVER_2022, exitCode: 0 };
      if (script.includes('Write-Error'))
        return {
          stdout: '',
          stderr:
            '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">Write-Error : disk full_x000D__x000A_</S></Objs>',
          exitCode: 1,
        };
      return { stdout: 'Running  WinRM\r\n', exitCode: 0 };
    },
  });
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-winrm-cli-'));
  env = { RMM_WINRM_PASSWORD: PASSWORD };
  const device = (name: string, port: number) =>
    `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: main\n  address: 127.0.0.1\n  os: windows\n  transport: {type: winrm, port: ${port}, user: administrator, credentialRef: "env:RMM_WINRM_PASSWORD"}\n`;
  await applyDevices(
    { cwd, env },
    `${device('win-01', peer.port)}---\n${device('win-gone', await freePort())}`,
  );
}, 60_000);
afterAll(async () => {
  await peer?.stop();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('rmm over WinRM', () => {
  it('runs a cmd command and a PowerShell script, with CLIXML errors made readable', async () => {
    const plain = await rmm('exec', '-t', 'name=win-01', '--json', '--', 'echo', 'hello from winrm');
    expect(plain.exitCode, plain.stderr).toBe(0);
    const done = plain.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((e) => e.status === 'Succeeded');
    expect(done.stdout).toBe('hello from winrm\n');

    const before = peer.powershell.length;
    const ps = await rmm('exec', '-t', 'name=win-01', '--powershell', '--', 'Get-Service WinRM');
    expect(ps.exitCode, ps.stderr).toBe(0);
    expect(ps.stdout).toContain('Running  WinRM');
    expect(peer.powershell.slice(before).map((r) => r.script)).toEqual(['Get-Service WinRM']);

    const failing = await rmm('exec', '-t', 'name=win-01', '--powershell', '--', "Write-Error 'disk full'");
    expect(failing.exitCode).toBe(1);
    expect(failing.stdout).toContain('Write-Error : disk full');
    expect(failing.stdout).not.toContain('CLIXML');
  }, 60_000);

  it('collects the Windows inventory through the PowerShell collector', async () => {
    const before = peer.powershell.length;
    const result = await rmm('inventory', 'collect', '-t', 'name=win-*', '--connect-timeout', '2');
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('--- win-01: Succeeded');
    expect(result.stdout).toContain('Microsoft Windows Server 2022 Standard, build 20348');
    expect(result.stdout).toContain('--- win-gone: Unreachable');

    // The collector went whole on stdin behind the bootstrap; the command line stayed short.
    const [arrived] = peer.powershell.slice(before);
    expect(arrived?.stdin.toString('utf8')).toBe(collectorScript);
    expect(arrived?.script).toContain('[Console]::In.ReadToEnd()');

    const categories = query<{ Category: string }>(
      "SELECT Category FROM Inventory WHERE DeviceId = 'win-01' ORDER BY Category",
    ).map((r) => r.Category);
    expect(categories).toEqual(['disks', 'hardware', 'network', 'os', 'software']);
    expect(
      query('SELECT DeviceId, Status, OSName, OSVersion, OSBuild FROM Devices ORDER BY DeviceId'),
    ).toEqual([
      {
        DeviceId: 'win-01',
        Status: 'Online',
        OSName: 'Microsoft Windows Server 2022 Standard',
        OSVersion: '10.0.20348',
        OSBuild: '20348',
      },
      { DeviceId: 'win-gone', Status: 'Offline', OSName: null, OSVersion: null, OSBuild: null },
    ]);
  }, 60_000);

  it('refuses bad transport options at validate with file:line:column', async () => {
    const bad =
      'apiVersion: rmm/v1\nkind: Device\nmetadata: {name: win-bad}\nspec:\n  site: main\n  address: 127.0.0.1\n  os: windows\n  transport: {type: winrm, scheme: smb, port: 5985}\n';
    const file = path.join(cwd, 'bad.yaml');
    await writeFile(file, bad);
    const result = await rmm('validate', '-f', 'bad.yaml');
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr + result.stdout).toMatch(/bad\.yaml:8:\d+.*Device\/win-bad/);
    expect(result.stderr + result.stdout).toContain('must be one of: http, https (got "smb")');
  });
});
