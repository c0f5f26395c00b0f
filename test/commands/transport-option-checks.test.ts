import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/**
 * The plugins' own checks of their options (Transport.checkOptions, issue 11), seen through the
 * CLI: a knownHosts outside the console's folders is refused at validate, plan and apply at its
 * value (it used to be refused only when connecting), and lab-only settings are warnings at theirs.
 * HOME is a folder of the test, so ~/.ssh is known.
 */
let dir: string;
let home: string;
const rmm = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(args, { cwd: dir, env: { HOME: home, RMM_KNOWN_HOSTS_DIRS: undefined, ...env } });

function databaseHash(): string {
  const file = path.join(dir, 'data', 'devices.db');
  const hash = createHash('sha256').update(readFileSync(file));
  if (existsSync(`${file}-wal`)) hash.update(readFileSync(`${file}-wal`));
  return hash.digest('hex');
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-option-checks-'));
  home = path.join(dir, 'home');
  await mkdir(path.join(home, '.ssh'), { recursive: true });
  expect((await rmm(['init'])).exitCode).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const device = (name: string, transport: string[]) =>
  ['apiVersion: rmm/v1', 'kind: Device', `metadata: {name: ${name}}`, 'spec:', '  site: main', '  transport:']
    .concat(transport.map((line) => `    ${line}`))
    .join('\n');

describe('knownHosts', () => {
  it('outside ~/.ssh and RMM_KNOWN_HOSTS_DIRS, or with "..", is refused at its value by validate, plan and apply', async () => {
    const file = path.join(dir, 'known-hosts.yaml');
    await writeFile(
      file,
      [
        device('web-01', ['type: ssh', 'knownHosts: ~/.bashrc', 'hostKeyPolicy: accept-new']),
        device('web-02', ['type: ssh', 'knownHosts: ~/.ssh/../.ssh/known_hosts']),
        device('web-03', ['type: ssh', 'knownHosts: ~/.ssh/known_hosts']),
        [
          'apiVersion: rmm/v1',
          'kind: Site',
          'metadata: {name: main}',
          'spec:',
          '  defaults:',
          '    transport: {knownHosts: /etc/rmm/known_hosts}',
        ].join('\n'),
        '',
      ].join('\n---\n'),
    );
    const outside = (shown: string) =>
      `knownHosts "${shown}" is outside the folders a known_hosts file may be in (${path.join(home, '.ssh')}); the console adds folders with RMM_KNOWN_HOSTS_DIRS, YAML cannot`;
    const lines = [
      `${file}:8:17: Device/web-01: ${outside(path.join(home, '.bashrc'))}`,
      `${file}:9:20: Device/web-01: warning: accept-new trusts whatever key a host not listed yet offers first, a man in the middle included: for labs; trust new hosts with rmm hostkeys scan (it shows each key before recording it) and keep the default strict`,
      `${file}:18:17: Device/web-02: knownHosts "~/.ssh/../.ssh/known_hosts" has a ".." in it: name the file by a path without one`,
      `${file}:34:29: Site/main: ${outside('/etc/rmm/known_hosts')}`,
    ];
    const validated = await rmm(['validate', '-f', file]);
    expect(validated.exitCode).toBe(1);
    expect(validated.stdout.split('\n').slice(0, lines.length)).toEqual(lines);
    const before = databaseHash();
    for (const verb of ['plan', 'apply']) {
      const result = await rmm([verb, '-f', file, ...(verb === 'apply' ? ['--auto-approve'] : [])]);
      expect(result.exitCode, `${verb}: ${result.stderr}`).toBe(1);
      for (const line of lines) expect(result.stderr).toContain(line);
    }
    expect(databaseHash()).toBe(before);
  });

  it('in a folder the console lists is accepted, and the check is never served from the cache', async () => {
    const file = path.join(dir, 'listed.yaml');
    await writeFile(file, `${device('db-01', ['type: ssh', 'knownHosts: /etc/rmm/known_hosts'])}\n`);
    const allowed = { RMM_KNOWN_HOSTS_DIRS: '/etc/rmm' };
    const planned = await rmm(['plan', '-f', file], allowed);
    expect(planned.exitCode, planned.stderr).toBe(0);
    // The same file again, now without the folder: the plan that cached it valid must not hide this.
    const refused = await rmm(['plan', '-f', file]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      `${file}:8:17: Device/db-01: knownHosts "/etc/rmm/known_hosts" is outside`,
    );
  });
});

describe('lab-only settings', () => {
  it('are warnings at their value: validation passes and plan shows them', async () => {
    const file = path.join(dir, 'lab.yaml');
    await writeFile(
      file,
      [
        device('win-01', ['type: winrm', 'user: ops', 'scheme: https', 'tls: {verify: false}']),
        device('win-02', [
          'type: winrm',
          'user: ops',
          'scheme: https',
          'tls:',
          '  verify: false',
          `  fingerprint: '${'AB'.repeat(32)}'`,
        ]),
        device('lin-01', [
          'type: ssh',
          'hostKeyPolicy: accept-new',
          `hostKeyFingerprint: SHA256:${'A'.repeat(43)}`,
        ]),
        '',
      ].join('\n---\n'),
    );
    const warning = `${file}:10:19: Device/win-01: warning: verify: false accepts any certificate, so whoever is on the network path can pose as the device and receive the password and the commands: for labs; trust the CA with tls.caFile or pin the certificate with tls.fingerprint`;
    const validated = await rmm(['validate', '-f', file]);
    expect(validated.exitCode, validated.stdout).toBe(0);
    // A pinned certificate or host key is checked whatever verify or hostKeyPolicy say: no warning.
    expect(validated.stdout.split('\n')).toEqual([warning, 'Valid: 3 resources in 1 file.']);
    const planned = await rmm(['plan', '-f', file]);
    expect(planned.exitCode, planned.stderr).toBe(0);
    expect(planned.stderr).toContain(warning);
  });
});
