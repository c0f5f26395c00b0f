import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/child-server.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';

/**
 * rmm hostkeys scan against a real OpenSSH server: first contact with an empty known_hosts and the
 * strict host key policy (the default), a changed key, a refused confirmation, unreachable and
 * WinRM devices in the same selection.
 */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
let knownHosts: string;
/** What `ssh-keygen -lf` says of the server's host key: `256 SHA256:... comment (ED25519)`. */
let expectedFingerprint: string;
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const audit = () =>
  queryFile<{ Action: string; Target: string; Details: string; Success: number }>(
    path.join(cwd, 'data', 'devices.db'),
    "SELECT Action, Target, Details, Success FROM AuditLog WHERE Action LIKE 'hostkey.%' ORDER BY LogId",
  );

const device = (name: string, os: string, transport: string) =>
  `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: main\n  address: 127.0.0.1\n  os: ${os}\n  transport: {${transport}}\n`;

/** The CLI on a real pseudo-terminal (util-linux script(1)), typing `answer`. */
async function onTerminal(args: string, answer: string) {
  const bin = path.join(repoRoot, 'bin', 'run.js');
  return execa('script', ['-qec', `node ${bin} ${args}`, '/dev/null'], {
    cwd,
    env: { ...process.env, ...env, NO_COLOR: '1', RMM_DATA_DIR: undefined, NODE_ENV: undefined },
    extendEnv: false,
    reject: false,
    input: `${answer}\n`,
    timeout: 60_000,
  });
}

beforeAll(async () => {
  let ssh: string;
  ({ sshd, cwd, env, transport: ssh } = await sshWorkspace('rmm-hostkeys-', 'hostkeys-test'));
  knownHosts = path.join(cwd, 'home', '.ssh', 'known_hosts');
  const { stdout } = await execa('ssh-keygen', ['-lf', sshd.hostKeyPath]);
  expectedFingerprint = stdout.split(' ')[1] as string;
  await applyDevices(
    { cwd, env },
    [
      device('web-a', 'linux', ssh),
      device('web-b', 'linux', ssh),
      device(
        'gone-a',
        'linux',
        `type: ssh, port: ${await freePort()}, user: ${sshd.user}, credentialRef: "file:${sshd.clientKeyPath}"`,
      ),
      device(
        'win-a',
        'windows',
        'type: winrm, port: 5985, user: administrator, credentialRef: "env:RMM_NO_SUCH"',
      ),
    ].join('---\n'),
  );
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});
// Every test starts from first contact: nothing trusted.
beforeEach(async () => {
  await rm(knownHosts, { force: true });
});

describe('rmm hostkeys scan', () => {
  it('first contact fails under the strict policy, and the message says how to trust the host', async () => {
    const result = await rmm('exec', '-t', 'name=web-a', '--', 'true');
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('host key not trusted');
    expect(result.stdout).toContain('rmm hostkeys scan');
  });

  it("without a terminal or --yes shows each key's fingerprint as ssh-keygen prints it, records nothing, exits 2", async () => {
    expect(expectedFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const result = await rmm('hostkeys', 'scan', '-t', 'name=web-*');
    expect(result.exitCode, result.stderr).toBe(2);
    const name = `[127.0.0.1]:${sshd.port}`;
    expect(result.stdout).toContain(`web-a  ${name}  ssh-ed25519 ${expectedFingerprint}  new`);
    expect(result.stdout).toContain(`web-b  ${name}  ssh-ed25519 ${expectedFingerprint}  new`);
    expect(result.stdout).toContain('2 new host keys not recorded: no terminal to confirm on');
    expect(existsSync(knownHosts)).toBe(false);
    expect(audit().filter((r) => r.Action === 'hostkey.record')).toEqual([]);
  });

  it('on a terminal, an answer other than yes leaves known_hosts as it was', async () => {
    await writeFile(knownHosts, '# mine\n');
    const result = await onTerminal('hostkeys scan -t name=web-a', 'no');
    expect(result.stdout).toContain('Record this new host key? Only "yes" is accepted:');
    expect(result.stdout).toContain('1 new host key not recorded: not confirmed');
    expect(result.exitCode).toBe(2);
    expect(await readFile(knownHosts, 'utf8')).toBe('# mine\n');
  });

  it('on a terminal, yes records the key; then rmm exec works under the strict policy', async () => {
    const before = audit().length;
    const result = await onTerminal('hostkeys scan -t name=web-a', 'yes');
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.stdout).toContain(`ssh-ed25519 ${expectedFingerprint}  recorded`);
    const [, key] = sshd.hostPublicKey.split(' ');
    expect(await readFile(knownHosts, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ssh-ed25519 ${key}\n`);
    const rows = audit().slice(before);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ Action: 'hostkey.record', Target: 'Device/web-a', Success: 1 });
    expect(JSON.parse(rows[0]?.Details ?? '{}')).toMatchObject({
      keyType: 'ssh-ed25519',
      fingerprint: expectedFingerprint,
      store: knownHosts,
    });

    const exec = await rmm('exec', '-t', 'name=web-a', '--', 'echo reached');
    expect(exec.exitCode, exec.stdout).toBe(0);
    expect(exec.stdout).toContain('reached');

    // Scanned again: known, nothing to do.
    const again = await rmm('hostkeys', 'scan', '-t', 'name=web-a');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain(`ssh-ed25519 ${expectedFingerprint}  known`);
    expect(await readFile(knownHosts, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ssh-ed25519 ${key}\n`);
  }, 60_000);

  it('--yes records once per host; unreachable and WinRM devices are reported, not fatal (exit 1)', async () => {
    const before = audit().length;
    const result = await rmm('hostkeys', 'scan', '-t', 'name=*', '--yes');
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /gone-a +127\.0\.0\.1 +unreachable: gone-a \(\[127\.0\.0\.1\]:\d+\): ECONNREFUSED/,
    );
    expect(result.stdout).toMatch(
      /win-a +127\.0\.0\.1 +skipped: the winrm transport has no host keys to scan/,
    );
    for (const name of ['web-a', 'web-b'])
      expect(result.stdout).toContain(
        `${name}   [127.0.0.1]:${sshd.port}  ssh-ed25519 ${expectedFingerprint}  recorded`,
      );
    expect(result.stdout).toContain(`Recorded 2 host keys in ${knownHosts}.`);
    // Both devices are one host: one line.
    expect((await readFile(knownHosts, 'utf8')).trimEnd().split('\n')).toHaveLength(1);
    expect(
      audit()
        .slice(before)
        .map((r) => r.Target),
    ).toEqual(['Device/web-a', 'Device/web-b']);
  }, 60_000);

  it('a key that differs from the recorded one is refused loudly, audited, and never overwritten (exit 3)', async () => {
    const other = path.join(cwd, 'other_ed25519');
    await rm(other, { force: true });
    await rm(`${other}.pub`, { force: true });
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const [type, key] = (await readFile(`${other}.pub`, 'utf8')).split(' ');
    const { stdout: otherListing } = await execa('ssh-keygen', ['-lf', `${other}.pub`]);
    const otherFingerprint = otherListing.split(' ')[1];
    const line = `[127.0.0.1]:${sshd.port} ${type} ${key}\n`;
    await writeFile(knownHosts, line);
    const before = audit().length;

    const result = await rmm('hostkeys', 'scan', '-t', 'name=web-*', '-t', 'name=gone-a', '--yes');
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toContain(
      `web-a   [127.0.0.1]:${sshd.port}  ssh-ed25519 ${expectedFingerprint}  CHANGED`,
    );
    expect(result.stderr).toContain('WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!');
    expect(result.stderr).toContain(`trusted instead: ssh-ed25519 ${otherFingerprint} (${knownHosts})`);
    expect(await readFile(knownHosts, 'utf8')).toBe(line);
    const rows = audit().slice(before);
    expect(rows.map((r) => [r.Action, r.Target, r.Success])).toEqual([
      ['hostkey.mismatch', 'Device/web-a', 0],
      ['hostkey.mismatch', 'Device/web-b', 0],
    ]);

    const exec = await rmm('exec', '-t', 'name=web-a', '--', 'true');
    expect(exec.exitCode).toBe(1);
  }, 60_000);

  it('--json gives one document with each device, its key and status', async () => {
    const result = await rmm('hostkeys', 'scan', '-t', 'name=web-a', '-t', 'name=win-a', '--json');
    expect(result.exitCode).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({
      version: 1,
      devices: [
        {
          device: 'web-a',
          transport: 'ssh',
          host: `[127.0.0.1]:${sshd.port}`,
          status: 'new',
          keyType: 'ssh-ed25519',
          fingerprint: expectedFingerprint,
          store: knownHosts,
        },
        {
          device: 'win-a',
          transport: 'winrm',
          host: '127.0.0.1',
          status: 'unsupported',
          error: 'the winrm transport has no host keys to scan',
        },
      ],
      summary: { new: 1, unsupported: 1 },
    });
    expect(existsSync(knownHosts)).toBe(false);
  });

  it('refuses a bad selector and a selector that matches nothing, changing nothing', async () => {
    const bad = await rmm('hostkeys', 'scan', '-t', 'nom=web-a', '--yes');
    expect(bad.exitCode).toBe(64);
    expect(bad.stderr).toContain('is not a selector term');
    const none = await rmm('hostkeys', 'scan', '-t', 'name=nothing-*', '--yes');
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain('no device matches --target name=nothing-*');
    expect(existsSync(knownHosts)).toBe(false);
  });
});
