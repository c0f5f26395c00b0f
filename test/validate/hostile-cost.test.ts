import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE, writeHostile } from '../../bench/hostile.js';
import { repoRoot } from '../helpers/cli.js';

/**
 * Inputs that cost too much to read (issue 11), written by bench/hostile.js and given to the real
 * CLI. Each must end in its clear message and exit code 1. The bound is generous (30 s, where the
 * target is 2 s and `npm run bench -- --only=hostile` prints the real figures): before the fixes each
 * of them ran for minutes, took gigabytes or never ended.
 */
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rmm-hostile-cost-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function validate(name: string) {
  writeHostile(tmp, name);
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.RMM_DATA_DIR;
  delete env.NODE_ENV;
  const result = await execa('node', [path.join(repoRoot, 'bin', 'run.js'), 'validate', '-f', name], {
    cwd: tmp,
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: 30_000,
  });
  expect(result.timedOut).toBe(false);
  expect(result.stderr).not.toMatch(/^\s+at .+|\b(?:Type|Range|Reference|Syntax)?Error\b|call stack|bug/m);
  expect(result.exitCode).toBe(1);
  const lines = result.stdout.split('\n').filter((line) => line !== '');
  expect(lines.pop()).toMatch(/^Invalid: /);
  return lines;
}

describe('rmm validate with inputs that cost too much', () => {
  it('a document of 4,000 unknown keys: its first 50 problems and a count of the rest', async () => {
    const lines = await validate('unknown-keys.yaml');
    expect(lines).toHaveLength(51);
    expect(lines[0]).toBe(
      'unknown-keys.yaml:7:3: Device/web-01: unknown field "k0000"; expected one of: hostname, fqdn, address, mac, site, groups, policies, overrides, os, transport, tags, customFields, maintenance',
    );
    expect(lines[49]).toMatch(/^unknown-keys\.yaml:56:3: Device\/web-01: unknown field "k0049";/);
    expect(lines[50]).toBe(
      'unknown-keys.yaml:57:3: Device/web-01: ... and 3950 more problems in this document',
    );
  });

  it('a byte that is not UTF-8 at the end of a 500 KB line', async () => {
    expect(await validate('bad-utf8-long-line.yaml')).toEqual([
      'bad-utf8-long-line.yaml:1:500004: not valid UTF-8 text; save the file as UTF-8',
    ]);
  });

  it.each([
    ['deep-flow.yaml', 8],
    ['deep-flow-map.yaml', 1],
    ['deep-compact.yaml', 8],
    ['blank-lines.yaml', 1],
  ])('%s: nesting far deeper than 64 levels, refused quickly', async (name, documents) => {
    const lines = await validate(name);
    expect(lines).toHaveLength(documents);
    for (const line of lines)
      expect(line).toMatch(new RegExp(`^${name}:\\d+:\\d+: nesting deeper than 64 levels$`));
  });

  it('a 1,000,000-character key: its message quotes 79 characters of it and its length', async () => {
    const [line, ...rest] = await validate('long-key.yaml');
    expect(rest).toEqual([]);
    expect(line).toBe(
      `long-key.yaml:8:5: Device/web-01: key "${'k'.repeat(79)}…" ${HOSTILE['long-key.yaml']?.message}: a letter, then up to 62 of A-Z, a-z, 0-9, '_', '.', '-'`,
    );
  });

  it('long runs of what the secret rules look for', async () => {
    const lines = await validate('secret-pattern-runs.yaml');
    expect(lines).toHaveLength(7);
    // Each is too long for a description; some also complete a secret's shape, which is reported instead.
    for (const line of lines)
      expect(line).toMatch(
        /: (?:must NOT have more than 2000 characters|.+ looks like .+; secrets never belong in YAML)$/,
      );
  });

  it.each(['zero.yaml', 'fifo.yaml'])('%s: only regular files are read', async (name) => {
    expect(await validate(name)).toEqual([`${name}:1:1: ${HOSTILE[name]?.message}`]);
  });
});
