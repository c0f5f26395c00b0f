import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { runCli } from './cli.js';
import { type Sshd, startSshd } from './sshd.js';

/**
 * A working directory for CLI tests that reach devices over a real sshd: the sshd started, a HOME
 * whose ~/.ssh/known_hosts trusts its host key (the SSH transport's default), and the spec.transport
 * fields that log in to it with the test key.
 */
export interface SshWorkspace {
  sshd: Sshd;
  cwd: string;
  env: Record<string, string>;
  /** `type: ssh, port: ..., user: ..., credentialRef: "file:..."` (the inside of a flow map). */
  transport: string;
}

export async function sshWorkspace(prefix: string, actor?: string): Promise<SshWorkspace> {
  const sshd = await startSshd();
  const cwd = await mkdtemp(path.join(os.tmpdir(), prefix));
  await mkdir(path.join(cwd, 'home', '.ssh'), { recursive: true });
  await copyFile(sshd.knownHostsPath, path.join(cwd, 'home', '.ssh', 'known_hosts'));
  // The test key lives with sshd, outside <data-dir>/credentials: the console allows its folder.
  const env: Record<string, string> = {
    HOME: path.join(cwd, 'home'),
    RMM_CREDENTIAL_DIRS: path.dirname(sshd.clientKeyPath),
  };
  if (actor) env.RMM_ACTOR = actor;
  const transport = `type: ssh, port: ${sshd.port}, user: ${sshd.user}, credentialRef: "file:${sshd.clientKeyPath}"`;
  return { sshd, cwd, env, transport };
}

/** Writes devices.yaml, then `rmm init` and `rmm apply` of it, which must succeed. */
export async function applyDevices(
  workspace: Pick<SshWorkspace, 'cwd' | 'env'>,
  yaml: string,
): Promise<void> {
  const { cwd, env } = workspace;
  await writeFile(path.join(cwd, 'devices.yaml'), yaml);
  expect((await runCli(['init'], { cwd, env })).exitCode).toBe(0);
  const applied = await runCli(['apply', '-f', 'devices.yaml', '--auto-approve'], { cwd, env });
  expect(applied.exitCode, applied.stderr).toBe(0);
}
