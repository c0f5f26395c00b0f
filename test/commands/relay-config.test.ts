import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/**
 * `rmm relay config` as a user runs it. What it prints is held against a real nats-server in
 * test/transports/nats-authorization.test.ts; here, the command around it.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-relay-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('rmm relay config', () => {
  it('says plainly when there is no database, and when no Relay is declared', async () => {
    const missing = await runCli(['relay', 'config'], { cwd: dir });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('no database at data/devices.db');
    expect((await runCli(['init'], { cwd: dir })).exitCode).toBe(0);
    const none = await runCli(['relay', 'config'], { cwd: dir });
    expect(none.exitCode).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain(
      'no Relay is declared in this database: declare one (kind Relay) and rmm apply it, then run this again',
    );
  });

  it('teaches its use in --help', async () => {
    const help = await runCli(['relay', 'config', '--help'], { cwd: dir });
    expect(help.exitCode).toBe(0);
    for (const text of ['RMM_NATS_CONSOLE_PASSWORD', 'RMM_NATS_RELAY_ALPHA_PASSWORD', 'docs/relay-nats.md'])
      expect(help.stdout).toContain(text);
  });
});
