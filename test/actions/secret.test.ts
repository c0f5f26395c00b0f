import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_CREDENTIAL_BYTES, resolveSecret } from '../../src/actions/secret.js';
import { credentialPolicy } from '../../src/credentials/policy.js';

const home = mkdtempSync(path.join(os.tmpdir(), 'rmm-secret-'));
const dataDir = path.join(home, 'data');
mkdirSync(path.join(dataDir, 'credentials'), { recursive: true });
writeFileSync(path.join(dataDir, 'credentials', 'key'), 'allowed-key');
writeFileSync(path.join(home, 'outside'), 'outside-secret');
symlinkSync(path.join(home, 'outside'), path.join(dataDir, 'credentials', 'link'));
const policy = credentialPolicy(dataDir, {});

function failure(ref: string, allowed = policy): string {
  try {
    resolveSecret(ref, allowed);
  } catch (error) {
    return (error as Error).message;
  }
  return 'resolved';
}

describe('resolveSecret', () => {
  it('gives the value as text without one trailing newline (revealText), as both plugins read passwords', () => {
    for (const [file, text] of [
      ['pw-lf', 'pässword\n'],
      ['pw-crlf', 'pässword\r\n'],
      ['pw-two', 'pässword\n\n'],
      ['pw-none', 'pässword'],
    ] as const)
      writeFileSync(path.join(dataDir, 'credentials', file), text);
    const text = (file: string) => resolveSecret(`file:${path.join(dataDir, 'credentials', file)}`, policy);
    expect(text('pw-lf').revealText()).toBe('pässword');
    expect(text('pw-crlf').revealText()).toBe('pässword');
    expect(text('pw-two').revealText()).toBe('pässword\n');
    expect(text('pw-none').revealText()).toBe('pässword');
    expect(text('pw-lf').reveal().toString()).toBe('pässword\n');
  });

  it('refuses what is not a reference without repeating it (it may be the secret itself)', () => {
    // Validation refuses such a value; a row edited by hand in the database can still hold one.
    const message = failure('Hunter2-secret');
    expect(message).toBe(
      'credentialRef is neither env:NAME nor file:PATH, the only references rmm reads secrets from (not shown: it may be the secret itself)',
    );
    expect(message).not.toContain('Hunter2');
  });

  it('resolves env: only for the allowed prefixes (RMM_ by default), widened by the console', () => {
    process.env.RMM_TEST_SECRET = 'rmm-value';
    process.env.VAULT_TEST_SECRET = 'vault-value';
    try {
      expect(resolveSecret('env:RMM_TEST_SECRET', policy).reveal().toString()).toBe('rmm-value');
      const refused = failure('env:VAULT_TEST_SECRET');
      expect(refused).toMatch(
        /refused: credentialRef names an environment variable this console does not allow/,
      );
      expect(refused).toContain('RMM_CREDENTIAL_ENV_PREFIXES');
      expect(refused).not.toContain('vault-value');
      const wider = credentialPolicy(dataDir, { RMM_CREDENTIAL_ENV_PREFIXES: 'RMM_,VAULT_' });
      expect(resolveSecret('env:VAULT_TEST_SECRET', wider).reveal().toString()).toBe('vault-value');
    } finally {
      delete process.env.RMM_TEST_SECRET;
      delete process.env.VAULT_TEST_SECRET;
    }
  });

  it('resolves file: only under <data-dir>/credentials or the added folders, after resolving .. and symlinks', () => {
    expect(resolveSecret(`file:${dataDir}/credentials/key`, policy).reveal().toString()).toBe('allowed-key');
    for (const ref of [
      `file:${home}/outside`,
      `file:${dataDir}/credentials/../../outside`,
      `file:${dataDir}/credentials/link`,
      `file:${dataDir}/credentials`,
    ]) {
      const refused = failure(ref);
      expect(refused, ref).toMatch(
        /refused: credentialRef names a file outside the folders this console allows/,
      );
      expect(refused).not.toContain('outside-secret');
    }
    const wider = credentialPolicy(dataDir, { RMM_CREDENTIAL_DIRS: `/nowhere:${home}` });
    expect(resolveSecret(`file:${home}/outside`, wider).reveal().toString()).toBe('outside-secret');
  });

  it('refuses a malformed widening with a message naming the variable', () => {
    expect(() => credentialPolicy(dataDir, { RMM_CREDENTIAL_DIRS: 'relative/keys' })).toThrow(
      'RMM_CREDENTIAL_DIRS: "relative/keys" is not an absolute directory',
    );
    expect(() => credentialPolicy(dataDir, { RMM_CREDENTIAL_ENV_PREFIXES: 'A-B' })).toThrow(
      /RMM_CREDENTIAL_ENV_PREFIXES: "A-B" is not the start/,
    );
  });

  it('refuses a file over the cap', () => {
    writeFileSync(path.join(dataDir, 'credentials', 'big'), Buffer.alloc(MAX_CREDENTIAL_BYTES + 1, 65));
    expect(failure(`file:${dataDir}/credentials/big`)).toMatch(/over the limit of 64 KiB/);
  });

  it('refuses a FIFO and /dev/zero quickly, without blocking or reading on (in a child process)', () => {
    const fifo = path.join(dataDir, 'credentials', 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const script = `
      import { resolveSecret } from './src/actions/secret.ts';
      import { credentialPolicy } from './src/credentials/policy.ts';
      const policy = credentialPolicy(${JSON.stringify(dataDir)}, { RMM_CREDENTIAL_DIRS: '/dev' });
      for (const ref of ['file:${fifo}', 'file:/dev/zero']) {
        try { resolveSecret(ref, policy); console.log('read'); } catch (e) { console.log(e.message); }
      }`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.error, child.stderr).toBeUndefined();
    const lines = child.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines)
      expect(line).toMatch(/not a regular file; rmm reads credentials only from regular files/);
  });
});
