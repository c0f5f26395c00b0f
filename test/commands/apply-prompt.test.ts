import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';

/** rmm apply's confirmation, answered on a real pseudo-terminal (util-linux script(1)), as an admin would. */
let cwd: string;
const bin = path.join(repoRoot, 'bin', 'run.js');

beforeEach(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-prompt-'));
  await copyExamples(path.join(cwd, 'repo'));
  expect((await runCli(['init'], { cwd })).exitCode).toBe(0);
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

/** Runs `rmm apply -f repo/relays -f repo/sites` on a terminal and types `answer` at the prompt. */
function applyAnswering(answer: string) {
  return execa('script', ['-qec', `node ${bin} apply -f repo/relays -f repo/sites`, '/dev/null'], {
    cwd,
    input: `${answer}\n`,
    env: { ...process.env, NO_COLOR: '1', RMM_DATA_DIR: undefined, NODE_ENV: undefined },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });
}

describe('rmm apply on a terminal', () => {
  it('declined: exits 6 (not the usage code 64), says so, and the database is byte-identical', async () => {
    const database = path.join(cwd, 'data', 'devices.db');
    const before = await readFile(database);
    for (const answer of ['no', 'y', '']) {
      const result = await applyAnswering(answer);
      expect(result.stdout, answer).toContain('Apply these changes? Only "yes" is accepted:');
      expect(result.stdout, answer).toContain(
        'Error: apply declined (only "yes" applies); nothing was changed',
      );
      expect(result.exitCode, answer).toBe(6);
    }
    expect((await readFile(database)).equals(before)).toBe(true);
  });

  it('yes applies, exit 0', async () => {
    const result = await applyAnswering('yes');
    expect(result.stdout).toContain('Apply complete: 6 added, 0 changed, 0 destroyed.');
    expect(result.exitCode).toBe(0);
  });

  it('--help documents exit 6', async () => {
    const help = await runCli(['apply', '--help'], { cwd });
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(
      '6 you answered the prompt with anything but yes (nothing changed)',
    );
  });
});
