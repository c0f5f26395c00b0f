import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASIC_OVER_HTTP } from '../../plugins/winrm/src/options.js';
import { runCli } from '../helpers/cli.js';

/**
 * Transport blocks that cannot work are refused at validate, plan and apply, at their line, and
 * nothing is written (issue 10 item 9): a type no installed plugin provides, Basic over plain HTTP
 * (alone, or only once a site's default fills the device's block in), a credentialRef of a kind
 * that does not exist.
 */
let dir: string;
const rmm = (...args: string[]) => runCli(args, { cwd: dir });

/** sha256 of the database file and its WAL (if any): byte-identical means nothing was written. */
function databaseHash(): string {
  const file = path.join(dir, 'data', 'devices.db');
  const hash = createHash('sha256').update(readFileSync(file));
  if (existsSync(`${file}-wal`)) hash.update(readFileSync(`${file}-wal`));
  return hash.digest('hex');
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-transport-checks-'));
  expect((await rmm('init')).exitCode).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Validate, plan and apply each refuse the file with these first lines, exit 1, writing nothing. */
async function refusedEverywhere(file: string, lines: string[]): Promise<void> {
  const validated = await rmm('validate', '-f', file);
  expect(validated.exitCode).toBe(1);
  expect(validated.stdout.split('\n').slice(0, lines.length)).toEqual(lines);
  const before = databaseHash();
  for (const verb of ['plan', 'apply']) {
    const result = await rmm(verb, '-f', file, ...(verb === 'apply' ? ['--auto-approve'] : []));
    expect(result.exitCode, `${verb}: ${result.stderr}`).toBe(1);
    for (const line of lines) expect(result.stderr).toContain(line);
  }
  expect(databaseHash()).toBe(before);
}

describe('transport blocks', () => {
  it('refuse a type no installed plugin provides, at its value, with a did-you-mean', async () => {
    const file = path.join(dir, 'typo.yaml');
    await writeFile(
      file,
      [
        'apiVersion: rmm/v1',
        'kind: Site',
        'metadata: {name: lab}',
        'spec:',
        '  defaults:',
        '    transport: {type: winrn, user: ops}',
        '---',
        'apiVersion: rmm/v1',
        'kind: Device',
        'metadata: {name: web-01}',
        'spec:',
        '  site: main',
        '  transport: {type: sssh, port: 22}',
        '',
      ].join('\n'),
    );
    const tail =
      '(installed: smb, ssh, winrm; --allow-unknown-transports accepts it for a plugin installed elsewhere)';
    await refusedEverywhere(file, [
      `${file}:6:23: Site/lab: no installed plugin provides the transport "winrn"; did you mean "winrm"? ${tail}`,
      `${file}:13:21: Device/web-01: no installed plugin provides the transport "sssh"; did you mean "ssh"? ${tail}`,
    ]);
  });

  it('--allow-unknown-transports accepts such a type on purpose, with one warning per type', async () => {
    const file = path.join(dir, 'nfs.yaml');
    const device = (name: string) =>
      `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: main\n  transport: {type: nfsq, share: queue}\n`;
    await writeFile(file, [device('nas-01'), device('nas-02'), device('nas-03')].join('---\n'));
    const warning = `${file}:6:21: Device/nas-01: warning: no installed plugin provides the transport "nfsq" (installed: smb, ssh, winrm); its options are not checked (and 2 more like it)`;
    const validated = await rmm('validate', '-f', file, '--allow-unknown-transports');
    expect(validated.exitCode).toBe(0);
    expect(validated.stdout.split('\n')).toEqual([warning, 'Valid: 3 resources in 1 file.']);
    const planned = await rmm('plan', '-f', file, '--allow-unknown-transports');
    expect(planned.exitCode, planned.stderr).toBe(0);
    expect(planned.stderr).toContain(warning);
    const refused = await rmm('plan', '-f', file);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      `${file}:6:21: Device/nas-01: no installed plugin provides the transport "nfsq"`,
    );
  });

  it('refuse Basic over plain HTTP at the line of auth, with the message the WinRM plugin uses', async () => {
    const file = path.join(dir, 'basic.yaml');
    await writeFile(
      file,
      [
        'apiVersion: rmm/v1',
        'kind: Device',
        'metadata: {name: win-01}',
        'spec:',
        '  site: main',
        '  transport:',
        '    type: winrm',
        '    auth: basic',
        '',
      ].join('\n'),
    );
    await refusedEverywhere(file, [`${file}:8:5: Device/win-01: ${BASIC_OVER_HTTP}`]);
  });

  it("check each device's block as it will be used, over its site's default of the same type", async () => {
    const file = path.join(dir, 'merged.yaml');
    await writeFile(
      file,
      [
        'apiVersion: rmm/v1',
        'kind: Site',
        'metadata: {name: lab}',
        'spec:',
        '  defaults:',
        '    transport: {type: winrm, scheme: http, user: ops}',
        '---',
        'apiVersion: rmm/v1',
        'kind: Device',
        'metadata: {name: win-02}',
        'spec:',
        '  site: lab',
        '  transport:',
        '    auth: basic',
        '---',
        'apiVersion: rmm/v1',
        'kind: Device',
        'metadata: {name: win-03}',
        'spec:',
        '  site: lab',
        '  transport: {knownHosts: /etc/ssh/known_hosts}',
        '---',
        'apiVersion: rmm/v1',
        'kind: Site',
        'metadata: {name: tls}',
        'spec:',
        '  defaults:',
        '    transport: {type: winrm, scheme: https, auth: basic}',
        '---',
        'apiVersion: rmm/v1',
        'kind: Device',
        'metadata: {name: win-04}',
        'spec:',
        '  site: tls',
        '  transport: {type: winrm, scheme: http}',
        '---',
        'apiVersion: rmm/v1',
        'kind: Device',
        'metadata: {name: web-05}',
        'spec:',
        '  site: main',
        '  transport: {scheme: https}',
        '---',
        'apiVersion: rmm/v1',
        'kind: Device',
        'metadata: {name: web-06}',
        'spec:',
        '  site: lab',
        // ~/.ssh: a known_hosts elsewhere is refused by the SSH plugin (transport-option-checks.test.ts).
        '  transport: {type: ssh, knownHosts: ~/.ssh/known_hosts}',
        '',
      ].join('\n'),
    );
    const lab = 'with the winrm default of site "lab":';
    await refusedEverywhere(file, [
      `${file}:14:5: Device/win-02: ${lab} ${BASIC_OVER_HTTP}`,
      `${file}:21:15: Device/win-03: ${lab} unknown field "knownHosts"; expected one of: port, user, scheme, auth, path, tls, maxEnvelopeSize, operationTimeoutSec, codepage`,
      `${file}:35:3: Device/win-04: with the winrm default of site "tls": ${BASIC_OVER_HTTP} (auth comes from that default)`,
      `${file}:42:15: Device/web-05: as ssh (a block without type is ssh unless its site's default names one): unknown field "scheme"; expected one of: port, user, auth, knownHosts, hostKeyFingerprint, hostKeyPolicy, keepaliveIntervalMs, readyTimeoutMs`,
      'Invalid: 4 errors in 7 resources in 1 file.',
    ]);
  });

  it("are checked over a site's default that only the database holds (plan and apply)", async () => {
    const site = path.join(dir, 'site-lab.yaml');
    await writeFile(
      site,
      'apiVersion: rmm/v1\nkind: Site\nmetadata: {name: lab}\nspec:\n  defaults:\n    transport: {type: winrm, user: ops}\n',
    );
    const applied = await rmm('apply', '-f', site, '--auto-approve');
    expect(applied.exitCode, applied.stderr).toBe(0);
    const device = path.join(dir, 'device-lab.yaml');
    await writeFile(
      device,
      'apiVersion: rmm/v1\nkind: Device\nmetadata: {name: win-09}\nspec:\n  site: lab\n  transport: {auth: basic}\n',
    );
    const before = databaseHash();
    for (const verb of ['plan', 'apply']) {
      const result = await rmm(verb, '-f', device, ...(verb === 'apply' ? ['--auto-approve'] : []));
      expect(result.exitCode, `${verb}: ${result.stderr}`).toBe(1);
      expect(result.stderr).toContain(
        `${device}:6:15: Device/win-09: with the winrm default of site "lab": ${BASIC_OVER_HTTP}`,
      );
    }
    expect(databaseHash()).toBe(before);
  });

  it('refuse a credentialRef of a kind rmm does not read, naming the kinds that exist', async () => {
    const file = path.join(dir, 'vault.yaml');
    await writeFile(
      file,
      'apiVersion: rmm/v1\nkind: Device\nmetadata: {name: db-01}\nspec:\n  site: main\n  transport: {type: ssh, credentialRef: "vault:secret/db"}\n',
    );
    await refusedEverywhere(file, [
      `${file}:6:41: Device/db-01: must be env:NAME (an environment variable) or file:PATH (a file): the only references rmm reads secrets from`,
    ]);
  });

  it('refuse a credentialRef the console does not allow, at its value, saying how to widen, never echoing it', async () => {
    const allowed = `this console resolves env: only for variables starting with RMM_ and file: only for files under ${path.join(dir, 'data', 'credentials')}; widen it on the console with RMM_CREDENTIAL_ENV_PREFIXES or RMM_CREDENTIAL_DIRS`;
    const device = (name: string, ref: string) =>
      `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: main\n  transport: {type: ssh, credentialRef: "${ref}"}\n`;
    const envFile = path.join(dir, 'aws.yaml');
    await writeFile(envFile, device('db-02', 'env:AWS_SECRET_ACCESS_KEY'));
    await refusedEverywhere(envFile, [
      `${envFile}:6:41: Device/db-02: credentialRef names an environment variable this console does not allow: ${allowed}`,
    ]);
    for (const ref of ['file:/root/.ssh/id_ed25519', 'file:data/credentials/../../../etc/passwd']) {
      const file = path.join(dir, 'key.yaml');
      await writeFile(file, device('db-03', ref));
      await refusedEverywhere(file, [
        `${file}:6:41: Device/db-03: credentialRef names a file outside the folders this console allows (symlinks and .. resolved): ${allowed}`,
      ]);
    }
    const site = path.join(dir, 'site-ref.yaml');
    await writeFile(
      site,
      'apiVersion: rmm/v1\nkind: Site\nmetadata: {name: ref}\nspec:\n  defaults:\n    transport: {type: ssh, credentialRef: env:HOME}\n',
    );
    const validated = await rmm('validate', '-f', site);
    expect(validated.exitCode).toBe(1);
    expect(validated.stdout).toContain(`${site}:6:43: Site/ref: credentialRef names an environment variable`);

    const ok = path.join(dir, 'allowed.yaml');
    await writeFile(
      ok,
      [device('db-04', 'env:RMM_SSH_KEY'), device('db-05', 'file:data/credentials/db-05')].join('---\n'),
    );
    expect((await rmm('validate', '-f', ok)).exitCode).toBe(0);
    const widened = await runCli(['validate', '-f', envFile], {
      cwd: dir,
      env: { RMM_CREDENTIAL_ENV_PREFIXES: 'AWS_' },
    });
    expect(widened.exitCode, widened.stdout).toBe(0);
    // A plan checked under a wider policy is not reused from the check cache under a narrower one.
    const planned = await runCli(['plan', '-f', envFile], {
      cwd: dir,
      env: { RMM_CREDENTIAL_ENV_PREFIXES: 'AWS_' },
    });
    expect(planned.exitCode, planned.stderr).toBe(0);
    const narrower = await rmm('plan', '-f', envFile);
    expect(narrower.exitCode).toBe(1);
    expect(narrower.stderr).toContain(
      'credentialRef names an environment variable this console does not allow',
    );
  });

  it("refuse a site's new default that a device only the database holds cannot work with", async () => {
    const site = (scheme: string) =>
      `apiVersion: rmm/v1\nkind: Site\nmetadata: {name: tls2}\nspec:\n  defaults:\n    transport: {type: winrm, ${scheme}user: ops}\n`;
    const device = (name: string) =>
      `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: tls2\n  transport: {auth: basic}\n`;
    const all = path.join(dir, 'tls2-all.yaml');
    await writeFile(all, [site('scheme: https, '), device('win-10'), device('win-11')].join('---\n'));
    const applied = await rmm('apply', '-f', all, '--auto-approve');
    expect(applied.exitCode, applied.stderr).toBe(0);
    const file = path.join(dir, 'tls2.yaml');
    await writeFile(file, site(''));
    const before = databaseHash();
    for (const verb of ['plan', 'apply']) {
      const result = await rmm(verb, '-f', file, ...(verb === 'apply' ? ['--auto-approve'] : []));
      expect(result.exitCode, `${verb}: ${result.stderr}`).toBe(1);
      expect(result.stderr).toContain(
        `${file}:6:5: Site/tls2: device "win-10" in the database would not work with this default: with the winrm default of site "tls2": ${BASIC_OVER_HTTP} (and 1 more devices in the database)`,
      );
    }
    expect(databaseHash()).toBe(before);
  });
});
