import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';

// oclif used to read piped stdin into a missing argument within 10 ms, so the outcome depended on
// timing: each case runs the real CLI many times and every run must be right.
const RUNS = 20;

let cwd: string;
let siteYaml: string;
const db = () => path.join(cwd, 'data', 'devices.db');
const rmm = (args: string[], input?: string | Uint8Array) => runCli(args, { cwd, input });
const fileBytes = () => readFile(db());

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-stdin-'));
  expect((await rmm(['init'])).exitCode).toBe(0);
  expect(
    (
      await rmm([
        'apply',
        '-f',
        path.join(repoRoot, 'policies'),
        '-f',
        path.join(repoRoot, 'examples'),
        '-R',
        '--auto-approve',
      ])
    ).exitCode,
  ).toBe(0);
  siteYaml = await readFile(path.join(repoRoot, 'examples', 'sites', 'alpha.yaml'), 'utf8');
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('stdin is read only where -f - says so', () => {
  it('rmm apply -f - applies the piped YAML in every run', async () => {
    for (let run = 0; run < RUNS; run++) {
      const yaml = siteYaml.replace('displayName: Site Alpha', `displayName: Site Alpha run ${run}`);
      const applied = await rmm(['apply', '-f', '-', '--auto-approve'], yaml);
      expect({ run, exitCode: applied.exitCode, stderr: applied.stderr }).toEqual({
        run,
        exitCode: 0,
        stderr: '',
      });
      expect(applied.stdout).toContain('Apply complete: 0 added, 1 changed, 0 destroyed.');
      expect(
        queryFile<{ name: string }>(db(), "SELECT Name AS name FROM Sites WHERE SiteId = 'alpha'"),
      ).toEqual([{ name: `Site Alpha run ${run}` }]);
    }
  });

  it('binary piped to rmm apply -f - is one diagnostic at <stdin>, never echoed, and changes nothing', async () => {
    const before = await fileBytes();
    for (let run = 0; run < RUNS; run++) {
      const junk = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), randomBytes(512)]);
      const applied = await rmm(['apply', '-f', '-', '--auto-approve'], junk);
      expect({ run, exitCode: applied.exitCode, stdout: applied.stdout }).toEqual({
        run,
        exitCode: 1,
        stdout: '',
      });
      expect(applied.stderr).toContain(
        'Error: the declared resources are invalid; nothing was applied\n  <stdin>:1:',
      );
      expect(applied.stderr).not.toContain('bug in rmm');
      // Nothing of the input comes back: every line is rmm's own text.
      expect(applied.stderr).toMatch(/^[\x20-\x7e\n]*$/);
    }
    expect((await fileBytes()).equals(before)).toBe(true);
  });

  it('junk piped to rmm get devices lists every device in every run', async () => {
    for (let run = 0; run < RUNS; run++) {
      const got = await rmm(['get', 'devices', '-o', 'json'], `x${run}\n`);
      expect({ run, exitCode: got.exitCode, stderr: got.stderr }).toEqual({ run, exitCode: 0, stderr: '' });
      expect((JSON.parse(got.stdout) as unknown[]).length).toBe(150);
    }
  });

  it('a required argument is never taken from stdin: it is missing, and that is a usage error', async () => {
    const cases: Array<{ args: string[]; missing: string }> = [
      { args: ['exec', '-t', 'name=alpha-web-01'], missing: 'command' },
      { args: ['actions', 'cancel'], missing: 'id' },
      { args: ['actions', 'show'], missing: 'id' },
      { args: ['get'], missing: 'kind' },
    ];
    const before = await fileBytes();
    for (let run = 0; run < RUNS / 4; run++) {
      for (const { args, missing } of cases) {
        const result = await rmm(args, args[0] === 'get' ? 'devices\n' : 'uptime\n');
        expect({ args, exitCode: result.exitCode, stdout: result.stdout }).toEqual({
          args,
          exitCode: 64,
          stdout: '',
        });
        expect(result.stderr).toMatch(new RegExp(`Missing 1 required arg:\\n › +${missing} `));
      }
    }
    expect((await fileBytes()).equals(before)).toBe(true);
  });

  it('rmm help with piped text shows the general help, not help for the piped word', async () => {
    for (let run = 0; run < RUNS / 4; run++) {
      const help = await rmm(['help'], 'exec\n');
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toContain('TOPICS');
    }
  });
});
