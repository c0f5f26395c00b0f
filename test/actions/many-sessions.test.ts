import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';

/**
 * `rmm exec -c 50` against a real sshd (issue 11): above 10 sessions at once, Node printed a
 * MaxListenersExceededWarning, because each session added listeners to one shared object for its
 * whole life. Fifty devices, all this one sshd, all running at once.
 */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
const DEVICES = 50;

beforeAll(async () => {
  let ssh: string;
  ({ sshd, cwd, env, transport: ssh } = await sshWorkspace('rmm-many-sessions-'));
  const device = (i: number) =>
    `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: d${i}}\nspec:\n  site: main\n  address: 127.0.0.1\n  transport: {${ssh}}\n`;
  await applyDevices({ cwd, env }, Array.from({ length: DEVICES }, (_, i) => device(i)).join('---\n'));
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm exec with many sessions at once', () => {
  it('runs -c 50 without a MaxListenersExceededWarning', async () => {
    const result = await runCli(['exec', '-t', 'name=d*', '-c', String(DEVICES), '--', 'sleep 1; echo ok'], {
      cwd,
      env,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.match(/ok/g)?.length).toBe(DEVICES);
    expect(result.stderr).not.toContain('MaxListenersExceededWarning');
    expect(result.stderr).not.toContain('memory leak');
  }, 120_000);
});
