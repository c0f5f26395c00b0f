import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';

/**
 * The warm cache's keys depend on content only. Each run loads the transport plugins concurrently,
 * so their hooks complete in whichever order they happen to: a key built from that order gave plan
 * and the apply before it different keys for the same file, about every other run. A linked plugin
 * whose hook completes when told (test/fixtures/plugins/late-transport) makes the order differ on
 * purpose: first before the built-in plugins' hooks, then after them.
 */
let dir: string;
let env: Record<string, string>;
// RMM_TIMING=1 also has each run say what the check cache found.
const rmm = (lateMs: number, ...args: string[]) =>
  runCli(args, { cwd: dir, env: { ...env, RMM_TEST_LATE_HOOK_MS: String(lateMs), RMM_TIMING: '1' } });
const cacheLine = (stderr: string) =>
  stderr.split('\n').find((line) => line.startsWith('[timing] check cache:'));
const entries = async (folder: string) =>
  (await readdir(path.join(dir, 'data', 'cache', folder)))
    .filter((f) => /^[0-9a-f]{64}\.json$/.test(f))
    .sort();

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-cache-keys-'));
  await copyExamples(path.join(dir, 'repo'));
  env = {
    XDG_DATA_HOME: path.join(dir, 'xdg', 'data'),
    XDG_CACHE_HOME: path.join(dir, 'xdg', 'cache'),
    XDG_CONFIG_HOME: path.join(dir, 'xdg', 'config'),
  };
  const linked = await rmm(
    0,
    'plugins',
    'link',
    path.join(repoRoot, 'test', 'fixtures', 'plugins', 'late-transport'),
  );
  expect(linked.exitCode, linked.stderr).toBe(0);
  expect((await rmm(0, 'transports')).stdout).toContain('late');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the check cache after rmm apply', () => {
  it('is what rmm plan reads: the plans after it write no new entries', async () => {
    expect((await rmm(0, 'init')).exitCode).toBe(0);
    const applied = await rmm(0, 'apply', '-f', 'repo', '-R', '--auto-approve');
    expect(applied.exitCode, applied.stderr).toBe(0);
    const afterApply = await entries('check');
    expect(cacheLine(applied.stderr)).toBe(`[timing] check cache: hits 0, misses ${afterApply.length}`);
    expect(afterApply.length).toBeGreaterThan(5);
    const schema = await entries('schema');
    // The late plugin's hook completes last, then first again.
    for (const lateMs of [300, 0]) {
      // Every file read, as an incremental plan would not: the check cache's keys are under test.
      const planned = await rmm(lateMs, 'plan', '-f', 'repo', '-R', '--no-incremental');
      expect(planned.exitCode, planned.stderr).toBe(0);
      expect(planned.stdout).toContain('No changes.');
      expect(cacheLine(planned.stderr)).toBe(`[timing] check cache: hits ${afterApply.length}, misses 0`);
      expect(await entries('check')).toEqual(afterApply);
      expect(await entries('schema')).toEqual(schema);
      // The manifests' content keys are salted the same way: under either hook order, no file is read.
      const incremental = await rmm(lateMs, 'plan', '-f', 'repo', '-R');
      expect(incremental.stderr).toMatch(/^\[timing\] incremental: read 0, unread \d+$/m);
    }
  });
});
