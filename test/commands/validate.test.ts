import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../helpers/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-validate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const examples = path.join(repoRoot, 'examples');
/** The shipped baseline policies the examples use (README: `-f policies -f examples -R`). */
const shipped = path.join(repoRoot, 'policies');

describe('rmm validate', () => {
  it('accepts the shipped example repository, exit 0, with a one-line verdict', async () => {
    const result = await runCli(['validate', '-f', shipped, '-f', examples, '-R'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    // Windows devices' WinRM blocks are checked against the built-in WinRM plugin's schema too.
    expect(result.stdout.split('\n')).toEqual(['Valid: 173 resources in 16 files.']);
  });

  it("checks a transport block against its plugin's options schema, with positions", async () => {
    const file = path.join(dir, 'transport.yaml');
    await writeFile(
      file,
      [
        'apiVersion: rmm/v1',
        'kind: Device',
        'metadata: {name: web-01}',
        'spec:',
        '  site: main',
        '  transport:',
        '    type: ssh',
        '    port: 22',
        '    knownHost: /etc/ssh/known_hosts',
        '    auth: certificate',
        '---',
        'apiVersion: rmm/v1',
        'kind: Site',
        'metadata: {name: alpha}',
        'spec:',
        '  defaults:',
        '    transport: {type: ssh, hostKeyFingerprint: "MD5:00"}',
        '',
      ].join('\n'),
    );
    const result = await runCli(['validate', '-f', file], { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.stdout.split('\n').slice(0, 3)).toEqual([
      `${file}:9:5: Device/web-01: unknown field "knownHost"; did you mean "knownHosts"?`,
      `${file}:10:11: Device/web-01: must be one of: key, password, agent (got "certificate")`,
      expect.stringMatching(new RegExp(`^${file}:17:48: Site/alpha: `)),
    ]);
  });

  it('a monitor whose for is shorter than its interval is a positioned warning, and still exit 0', async () => {
    const file = path.join(dir, 'policy-warning.yaml');
    await writeFile(
      file,
      [
        'apiVersion: rmm/v1',
        'kind: Policy',
        'metadata: {name: slow}',
        'spec:',
        '  interval: 5m',
        '  monitors:',
        '    - {name: cpu, metric: cpu.percent, when: {op: ">", value: 90, for: 1m}, severity: Warning}',
        '',
      ].join('\n'),
    );
    const result = await runCli(['validate', '-f', file], { cwd: dir });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      `${file}:7:72: Policy/slow: warning: for: 1m is shorter than the monitor's interval (5m): it fires on the first sample that meets the condition`,
      'Valid: 1 resource in 1 file.',
    ]);
  });

  it('without -R reads only the files directly in a directory, and says so when there are none', async () => {
    const result = await runCli(['validate', '-f', examples], { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      `${examples}:1:1: no .yaml or .yml files in directory (use -R to include subdirectories)`,
    );
  });

  it('--json prints the documented array of diagnostics, and exit 1 when any is an error', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(
      file,
      'apiVersion: rmm/v1\nkind: Device\nmetadata: {name: web-01}\nspec: {site: nowhere}\n',
    );
    const result = await runCli(['validate', '-f', file, '--json'], { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual([
      {
        severity: 'error',
        code: 'reference',
        file,
        line: 4,
        column: 14,
        kind: 'Device',
        name: 'web-01',
        pointer: '/spec/site',
        message: 'site "nowhere" is not declared',
      },
    ]);
  });

  it('--json prints [] for valid input', async () => {
    const result = await runCli(
      ['validate', '-f', path.join(examples, 'relays'), '-f', path.join(examples, 'sites'), '--json'],
      { cwd: dir },
    );
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([]);
  });

  it('refuses a missing -f with the usage exit code and a hint, not a stack trace', async () => {
    const result = await runCli(['validate'], { cwd: dir });
    expect(result.exitCode).toBe(64);
    expect(result.stderr).toMatch(/Missing required flag.*filename/s);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses an unknown flag with the usage exit code', async () => {
    const result = await runCli(['validate', '-f', examples, '--frobnicate'], { cwd: dir });
    expect(result.exitCode).toBe(64);
    expect(result.stderr).toContain('--frobnicate');
  });

  it('gives the same diagnostics on worker threads as inline, on an input large enough to use them', async () => {
    // Over the 1 MiB threshold, with problems of every stage spread through it: syntax, schema and
    // cross-reference errors, and a duplicate across two files.
    const big = path.join(dir, 'big');
    await rm(big, { recursive: true, force: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(big);
    const docs: string[] = [
      'apiVersion: rmm/v1\nkind: Site\nmetadata: {name: alpha}\nspec: {timezone: UTC}\n',
    ];
    for (let i = 0; i < 6000; i++) {
      const n = String(i).padStart(5, '0');
      let spec = `  site: alpha\n  address: 10.0.${i % 250}.${i % 200}\n  tags: [a, b]\n  customFields: {rack: R${i % 9}}\n`;
      if (i % 997 === 5) spec = '  site: beta\n';
      if (i % 1409 === 7) spec = '  site: alpha\n  os: plan9\n';
      if (i % 2003 === 11) spec = '  site: alpha\n  tags: [a, b\n';
      docs.push(`apiVersion: rmm/v1\nkind: Device\nmetadata:\n  name: dev-${n}\nspec:\n${spec}`);
    }
    await writeFile(path.join(big, 'a.yaml'), docs.slice(0, 3000).join('---\n'));
    await writeFile(path.join(big, 'b.yaml'), [...docs.slice(3000), docs[42]].join('---\n'));
    const inline = await runCli(['validate', '-f', big, '--json'], { cwd: dir, env: { RMM_WORKERS: '0' } });
    const pooled = await runCli(['validate', '-f', big, '--json'], { cwd: dir, env: { RMM_WORKERS: '2' } });
    expect(inline.exitCode).toBe(1);
    expect(pooled.exitCode).toBe(1);
    const diagnostics = JSON.parse(inline.stdout) as Array<{ code: string }>;
    expect(new Set(diagnostics.map((d) => d.code))).toEqual(
      new Set(['reference', 'schema', 'syntax', 'duplicate']),
    );
    expect(pooled.stdout).toBe(inline.stdout);
  });

  it('never creates a data directory or database (validate does not touch state)', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-validate-cwd-'));
    await runCli(['validate', '-f', examples, '-R'], { cwd });
    expect(await readdir(cwd)).toEqual([]);
    await rm(cwd, { recursive: true, force: true });
  });
});
