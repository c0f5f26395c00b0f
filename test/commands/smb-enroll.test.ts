import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobFile } from '../../plugins/smb/src/job-file.js';
import { loadSigningKey } from '../../plugins/smb/src/signing-key.js';
import { runCli } from '../helpers/cli.js';
import { applyDevices } from '../helpers/ssh-workspace.js';

/** rmm smb enroll: the installer it prints, run on a "device" (folders of this test), takes signed work. */
let cwd: string;
const env = {};
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const device = (name: string, os: string, transport: string) =>
  `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: main\n  address: 127.0.0.1\n  os: ${os}\n  transport: {${transport}}\n`;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-smb-enroll-'));
  await applyDevices(
    { cwd, env },
    [
      device('lin-01', 'linux', 'type: smb, user: rmm-console, credentialRef: "env:RMM_SMB_PASSWORD"'),
      device('win-01', 'windows', 'type: smb, user: rmm-console, credentialRef: "env:RMM_SMB_PASSWORD"'),
      device('ssh-01', 'linux', 'type: ssh, user: root, credentialRef: "env:RMM_SSH_KEY"'),
    ].join('---\n'),
  );
}, 60_000);
afterAll(() => rm(cwd, { recursive: true, force: true }));

describe('rmm smb enroll', () => {
  it('prints an installer that installs a consumer which runs jobs the console signed', async () => {
    const printed = await rmm('smb', 'enroll', 'lin-01');
    expect(printed.exitCode, printed.stderr).toBe(0);
    expect(printed.stderr).toContain('On lin-01, as root: sh rmm-smb-install-lin-01.sh');
    const keyDir = path.join(cwd, 'data', 'transports', 'smb');
    expect((await stat(keyDir)).mode & 0o777).toBe(0o700);
    const key = await loadSigningKey(keyDir);
    expect(printed.stdout).toContain(key.publicPem.trim());
    expect(printed.stdout).not.toContain('PRIVATE KEY');

    const device = path.join(cwd, 'device');
    const dirs = {
      share: path.join(device, 'share'),
      state: path.join(device, 'state'),
      lib: path.join(device, 'lib'),
    };
    await writeFile(path.join(cwd, 'install.sh'), printed.stdout);
    const installed = await execa('sh', [path.join(cwd, 'install.sh')], {
      env: {
        RMM_SMB_SHARE_DIR: dirs.share,
        RMM_SMB_STATE_DIR: dirs.state,
        RMM_SMB_LIB_DIR: dirs.lib,
        RMM_SMB_SCHEDULE: 'none',
      },
      reject: false,
    });
    expect(installed.exitCode, installed.stderr).toBe(0);
    expect((await stat(dirs.state)).mode & 0o777).toBe(0o700);

    const id = randomUUID();
    const job = jobFile(
      {
        actionId: id,
        type: 'exec',
        device: { name: 'lin-01', host: '127.0.0.1', os: 'linux', transport: { type: 'smb' } },
        command: 'echo enrolled',
        timeoutMs: 10_000,
        connectTimeoutMs: 1000,
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      },
      key,
      new Date(),
    );
    await writeFile(path.join(dirs.share, 'queue', `${id}.job`), job).catch(async () => {
      await execa('mkdir', ['-p', path.join(dirs.share, 'queue')]);
      await writeFile(path.join(dirs.share, 'queue', `${id}.job`), job);
    });
    const consumer = await execa(
      'sh',
      [
        path.join(dirs.lib, 'rmm-smb-consumer.sh'),
        '--share',
        dirs.share,
        '--state',
        dirs.state,
        '--device',
        'lin-01',
        '--key',
        path.join(dirs.lib, 'console-key.pem'),
      ],
      { reject: false },
    );
    expect(consumer.exitCode, consumer.stderr).toBe(0);
    const result = JSON.parse(await readFile(path.join(dirs.share, 'results', `${id}.json`), 'utf8'));
    expect(result).toMatchObject({
      actionId: id,
      status: 'Succeeded',
      exitCode: 0,
      stdoutBase64: Buffer.from('enrolled\n').toString('base64'),
    });
  }, 60_000);

  it('writes the Windows installer to --out, and never replaces a file', async () => {
    const out = path.join(cwd, 'win.ps1');
    const written = await rmm('smb', 'enroll', 'win-01', '--out', out);
    expect(written.exitCode, written.stderr).toBe(0);
    expect(await readFile(out, 'utf8')).toContain('<RSAKeyValue><Modulus>');
    const again = await rmm('smb', 'enroll', 'win-01', '--out', out);
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toContain(`--out ${out}: the file exists; it is never replaced`);
  }, 60_000);

  it('refuses a device that is not on smb, and an unknown one with a suggestion', async () => {
    const ssh = await rmm('smb', 'enroll', 'ssh-01');
    expect(ssh.exitCode).not.toBe(0);
    expect(ssh.stderr).toContain('device ssh-01 is reached over ssh, not smb');
    const unknown = await rmm('smb', 'enroll', 'lin-1');
    expect(unknown.exitCode).not.toBe(0);
    expect(unknown.stderr).toContain('no device "lin-1" in the database');
    expect(unknown.stderr).toContain('did you mean lin-01?');
  }, 60_000);
});
