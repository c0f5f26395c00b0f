import { rm } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeEncodedCommand,
  encodedCommand,
  MAX_COMMAND_LINE,
  powershellInvocation,
} from '../../src/actions/powershell.js';
import { runCli } from '../helpers/cli.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';

describe('PowerShell delivery', () => {
  it('encodes a script as UTF-16LE base64 that decodes to the same text, quotes and unicode included', () => {
    const script = `Write-Output "it's \`"quoted\`" & | < > ^ %PATH% — ünïcode ✓"\r\nexit 3`;
    const command = encodedCommand(script);
    expect(command).toMatch(/^powershell -NoProfile -NonInteractive -EncodedCommand [A-Za-z0-9+/]+=*$/);
    expect(decodeEncodedCommand(command)).toBe(script);
  });

  it('sends a script too long for a command line on stdin, to a bootstrap that fits', () => {
    const small = 'Get-Service';
    expect(powershellInvocation(small)).toEqual({ command: encodedCommand(small) });
    const large = `# ${'x'.repeat(40 * 1024)}\nWrite-Output done`;
    const { command, stdin } = powershellInvocation(large);
    expect(command.length).toBeLessThanOrEqual(MAX_COMMAND_LINE);
    expect(stdin).toBe(large);
    expect(decodeEncodedCommand(command)).toContain('[Console]::In.ReadToEnd()');
    // The boundary: the longest script whose encoded command still fits goes on the command line.
    const fits = 'a'.repeat(Math.floor(((MAX_COMMAND_LINE - encodedCommand('').length) * 3) / 8));
    expect(powershellInvocation(fits).stdin).toBeUndefined();
  });
});

/** Through rmm exec over SSH: no PowerShell runs here, so the Linux peer reports it missing. */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
const rmm = (...args: string[]) => runCli(args, { cwd, env });

beforeAll(async () => {
  let transport: string;
  ({ sshd, cwd, env, transport } = await sshWorkspace('rmm-powershell-'));
  const device = (name: string, osName: string) =>
    `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: main\n  address: 127.0.0.1\n  os: ${osName}\n  transport: {${transport}}\n`;
  await applyDevices({ cwd, env }, `${device('win-a', 'windows')}---\n${device('lin-a', 'linux')}`);
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm exec --powershell', () => {
  it('sends the encoded command to Windows devices and refuses others by name', async () => {
    const result = await rmm('exec', '-t', 'name=*', '--powershell', '--json', '--', 'Write-Output hi');
    expect(result.exitCode).toBe(1);
    const ended = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((e) => e.type === 'action' && e.status !== 'Running');
    const byDevice = Object.fromEntries(ended.map((e) => [e.device, e]));
    // The Linux peer stands in for Windows OpenSSH: the command arrived, and powershell is not there.
    expect(byDevice['win-a']).toMatchObject({ status: 'Failed', exitCode: 127 });
    expect(byDevice['win-a'].stderr).toContain('powershell');
    expect(byDevice['lin-a']).toMatchObject({
      status: 'Failed',
      error: 'a PowerShell action needs a Windows device (spec.os: windows); lin-a is linux',
    });
    const db = new Database(path.join(cwd, 'data', 'devices.db'), { readonly: true });
    try {
      const payloads = db
        .prepare("SELECT Payload FROM Actions WHERE DeviceId = 'win-a'")
        .pluck()
        .all() as string[];
      expect(JSON.parse(payloads[0] ?? '{}')).toMatchObject({ command: 'Write-Output hi', powershell: true });
    } finally {
      db.close();
    }
  });
});
