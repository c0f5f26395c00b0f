import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { execFile, queryFile } from '../helpers/sqlite.js';
import { applyDevices, type SshWorkspace, sshWorkspace } from '../helpers/ssh-workspace.js';

/**
 * The runner resolves only the credential references the console allows, whatever the database
 * holds: a row edited by hand is refused before any connection (sshd logs none), against a real sshd.
 */
let ws: SshWorkspace;
const connections = () => readFileSync(ws.sshd.logPath, 'utf8').split('Connection from').length - 1;
const db = () => path.join(ws.cwd, 'data', 'devices.db');

beforeAll(async () => {
  ws = await sshWorkspace('rmm-credential-policy-');
  await applyDevices(
    ws,
    `apiVersion: rmm/v1
kind: Device
metadata: {name: web-a}
spec: {site: main, address: 127.0.0.1, os: linux, transport: {${ws.transport}}}
`,
  );
}, 60_000);
afterAll(async () => {
  await ws?.sshd.stop();
  await rm(ws.cwd, { recursive: true, force: true });
});

describe('the runner and the credential policy', () => {
  it('connects with an allowed reference', async () => {
    const before = connections();
    const ok = await runCli(['exec', '-t', 'name=web-a', '--', 'echo hi'], { cwd: ws.cwd, env: ws.env });
    expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
    expect(connections()).toBeGreaterThan(before);
  }, 60_000);

  it('refuses a file outside the allowed folders before connecting (the console did not widen)', async () => {
    const { RMM_CREDENTIAL_DIRS: _widened, ...env } = ws.env;
    const before = connections();
    const refused = await runCli(['exec', '-t', 'name=web-a', '--', 'echo hi'], { cwd: ws.cwd, env });
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toContain(
      `credential file:${ws.sshd.clientKeyPath}: refused: credentialRef names a file outside the folders this console allows`,
    );
    expect(refused.stdout).toContain('RMM_CREDENTIAL_DIRS');
    expect(connections()).toBe(before);
  }, 60_000);

  it('refuses a hand-edited env: reference outside the allowed prefixes before connecting', async () => {
    execFile(
      db(),
      `UPDATE ManagedResources SET Settings = replace(Settings, 'file:${ws.sshd.clientKeyPath}', 'env:HOME') WHERE Kind = 'Device' AND Name = 'web-a'`,
    );
    expect(
      queryFile<{ n: number }>(
        db(),
        "SELECT count(*) AS n FROM ManagedResources WHERE Settings LIKE '%env:HOME%'",
      ),
    ).toEqual([{ n: 1 }]);
    const before = connections();
    const refused = await runCli(['exec', '-t', 'name=web-a', '--', 'echo hi'], { cwd: ws.cwd, env: ws.env });
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toContain(
      'credential env:HOME: refused: credentialRef names an environment variable this console does not allow',
    );
    expect(refused.stdout + refused.stderr).not.toContain(ws.env.HOME as string);
    expect(connections()).toBe(before);
  }, 60_000);

  it('refuses a malformed widening clearly, running nothing', async () => {
    const bad = await runCli(['exec', '-t', 'name=web-a', '--', 'echo hi'], {
      cwd: ws.cwd,
      env: { ...ws.env, RMM_CREDENTIAL_DIRS: 'keys' },
    });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('RMM_CREDENTIAL_DIRS: "keys" is not an absolute directory');
  }, 60_000);
});
