import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Hostile input that cannot be committed as a corpus file, generated into a temp dir and given to the
 * real CLI: each must end in a clear FILE:LINE:COLUMN message and exit code 1, never in a stack trace
 * or a hang (vitest's 60 s timeout is the bound).
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repoRoot, 'bin', 'run.js');
const MiB = 1024 * 1024;

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rmm-hostile-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The environment of a user's shell, minus anything that would point rmm elsewhere. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.RMM_DATA_DIR;
  // vitest's NODE_ENV=test would make oclif look for TypeScript sources instead of running dist/.
  delete env.NODE_ENV;
  return env;
}

/** Runs `rmm ARGS` in `cwd` (the temp dir by default), so file names in messages stay short. */
async function rmm(args: string[], options: { cwd?: string; input?: string } = {}) {
  const started = Date.now();
  const result = await execa('node', [bin, ...args], {
    cwd: options.cwd ?? tmp,
    env: cleanEnv(),
    extendEnv: false,
    input: options.input,
    reject: false,
    timeout: 55_000,
  });
  return { ...result, ms: Date.now() - started };
}

/** A clean failure: exit code 1, no crash, no timeout. */
function expectCleanExit(
  result: { timedOut: boolean; stderr: unknown; exitCode?: number },
  exitCode: number,
): void {
  expect(result.timedOut).toBe(false);
  // A crash prints a stack trace ("    at fn (file:line:col)") or an uncaught error's name.
  expect(result.stderr).not.toMatch(/^\s+at .+/m);
  expect(result.stderr).not.toMatch(/\b(?:Type|Range|Reference|Syntax)?Error\b|call stack/);
  expect(result.exitCode).toBe(exitCode);
}

/** The diagnostic lines of `rmm validate` (everything but the final verdict line). */
function diagnosticsOf(stdout: string): string[] {
  const lines = stdout.split('\n').filter((line) => line !== '');
  const verdict = lines.pop();
  expect(verdict).toMatch(/^(?:Valid|Invalid): /);
  return lines;
}

async function validateFile(name: string, content: string | Buffer) {
  await writeFile(path.join(tmp, name), content);
  return rmm(['validate', '-f', name]);
}

describe('rmm validate with hostile files', () => {
  it('an empty file', async () => {
    const result = await validateFile('empty.yaml', '');
    expectCleanExit(result, 1);
    expect(diagnosticsOf(result.stdout)).toEqual(['empty.yaml:1:1: no YAML documents in this file']);
  });

  it('a file with only comments', async () => {
    const result = await validateFile('comments.yaml', '# Devices of site alpha\n#\n# (none yet)\n');
    expectCleanExit(result, 1);
    expect(diagnosticsOf(result.stdout)).toEqual(['comments.yaml:1:1: no YAML documents in this file']);
  });

  it('a file of binary data', async () => {
    const bytes = randomBytes(64 * 1024);
    bytes[1000] = 0;
    bytes[5000] = 0;
    const nul = bytes.indexOf(0);
    const result = await validateFile('binary.yaml', bytes);
    expectCleanExit(result, 1);
    expect(diagnosticsOf(result.stdout)).toEqual([
      `binary.yaml:1:1: binary data (a NUL byte at offset ${nul}); expected YAML text`,
    ]);
  });

  it('a file that is not UTF-8 (Latin-1), reported at the first byte that is not', async () => {
    const text =
      'apiVersion: rmm/v1\nkind: Site\nmetadata:\n  name: zurich\nspec:\n  displayName: Zürich Büro\n';
    const result = await validateFile('latin1.yaml', Buffer.from(text, 'latin1'));
    expectCleanExit(result, 1);
    expect(diagnosticsOf(result.stdout)).toEqual([
      'latin1.yaml:6:17: not valid UTF-8 text; save the file as UTF-8',
    ]);
  });

  // Windows editors save UTF-16; calling it binary left the user guessing (issue 11).
  const SITE = 'apiVersion: rmm/v1\nkind: Site\nmetadata:\n  name: zurich\n';
  const utf16 = (bom: boolean, order: 'le' | 'be') => {
    const le = Buffer.from(`${bom ? '\uFEFF' : ''}${SITE}`, 'utf16le');
    return order === 'le' ? le : le.swap16();
  };
  it.each([
    {
      name: 'with a byte order mark, little-endian',
      bytes: utf16(true, 'le'),
      from: 'UTF-16',
      how: 'little-endian, with a byte order mark',
    },
    {
      name: 'with a byte order mark, big-endian',
      bytes: utf16(true, 'be'),
      from: 'UTF-16',
      how: 'big-endian, with a byte order mark',
    },
    {
      name: 'without a byte order mark, little-endian',
      bytes: utf16(false, 'le'),
      from: 'UTF-16LE',
      how: 'little-endian',
    },
    {
      name: 'without a byte order mark, big-endian',
      bytes: utf16(false, 'be'),
      from: 'UTF-16BE',
      how: 'big-endian',
    },
  ])('a UTF-16 file $name is called UTF-16, with how to convert it', async ({ bytes, from, how }) => {
    const result = await validateFile('utf16.yaml', bytes);
    expectCleanExit(result, 1);
    expect(diagnosticsOf(result.stdout)).toEqual([
      `utf16.yaml:1:1: UTF-16 text (${how}); rmm reads UTF-8: convert it with iconv -f ${from} -t UTF-8 utf16.yaml > utf16.yaml.new && mv utf16.yaml.new utf16.yaml`,
    ]);
  });

  it('a UTF-16 file with a space in its name gets a command that quotes it', async () => {
    const result = await validateFile('my site.yaml', utf16(true, 'le'));
    expectCleanExit(result, 1);
    expect(diagnosticsOf(result.stdout)).toEqual([
      "my site.yaml:1:1: UTF-16 text (little-endian, with a byte order mark); rmm reads UTF-8: convert it with iconv -f UTF-16 -t UTF-8 'my site.yaml' > 'my site.yaml.new' && mv 'my site.yaml.new' 'my site.yaml'",
    ]);
  });

  it('a 50 MB document is refused as too large, quickly', async () => {
    const head =
      'apiVersion: rmm/v1\nkind: Device\nmetadata:\n  name: web-01\nspec:\n  site: main\n  customFields:\n    notes: ';
    const result = await validateFile('huge-document.yaml', `${head}${'x'.repeat(50 * MiB)}\n`);
    expectCleanExit(result, 1);
    expect(diagnosticsOf(result.stdout)).toEqual([
      'huge-document.yaml:1:1: document is 50.0 MiB, over the limit of 1.0 MiB for one resource',
    ]);
    expect(result.ms).toBeLessThan(15_000);
  });

  it('a 50 MB file of small documents with one invalid document at the end', async () => {
    const parts: string[] = [];
    let size = 0;
    let lines = 0;
    for (let i = 0; size < 50 * MiB; i++) {
      const doc = [
        '---',
        'apiVersion: rmm/v1',
        'kind: Device',
        `metadata: {name: dev-${i}, labels: {batch: b${i % 100}}}`,
        `spec: {site: main, address: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, os: linux, tags: [bulk]}`,
        '',
      ].join('\n');
      parts.push(doc);
      size += doc.length;
      lines += 5;
    }
    parts.push(
      '---\napiVersion: rmm/v1\nkind: Device\nmetadata: {name: dev-last}\nspec: {site: main, os: ubuntu}\n',
    );
    const specLine = lines + 5;
    const result = await validateFile('many-documents.yaml', parts.join(''));
    expectCleanExit(result, 1);
    expect(diagnosticsOf(result.stdout)).toEqual([
      `many-documents.yaml:${specLine}:24: Device/dev-last: must be one of: linux, windows, macos (got "ubuntu")`,
    ]);
  });

  it('a path that does not exist', async () => {
    const result = await rmm(['validate', '-f', 'does-not-exist.yaml']);
    expectCleanExit(result, 1);
    expect(diagnosticsOf(result.stdout)).toEqual(['does-not-exist.yaml:1:1: no such file or directory']);
  });

  it('a directory whose YAML is only in a subdirectory, without -R: a hint', async () => {
    await mkdir(path.join(tmp, 'repo', 'sites'), { recursive: true });
    await writeFile(path.join(tmp, 'repo', 'README.md'), '# Resources\n');
    await writeFile(
      path.join(tmp, 'repo', 'sites', 'alpha.yaml'),
      'apiVersion: rmm/v1\nkind: Site\nmetadata: {name: alpha}\nspec: {}\n',
    );
    const result = await rmm(['validate', '-f', 'repo']);
    expectCleanExit(result, 1);
    expect(diagnosticsOf(result.stdout)).toEqual([
      'repo:1:1: no .yaml or .yml files in directory (use -R to include subdirectories)',
    ]);
    // With -R the subdirectory's file is found and valid.
    const recursive = await rmm(['validate', '-f', 'repo', '-R']);
    expectCleanExit(recursive, 0);
    expect(diagnosticsOf(recursive.stdout)).toEqual([]);
  });

  it('a directory with no YAML at all, with -R: no hint', async () => {
    await mkdir(path.join(tmp, 'notes', 'old'), { recursive: true });
    await writeFile(path.join(tmp, 'notes', 'todo.txt'), 'add site beta\n');
    await writeFile(path.join(tmp, 'notes', 'old', 'sites.json'), '{}\n');
    const result = await rmm(['validate', '-f', 'notes', '-R']);
    expectCleanExit(result, 1);
    expect(diagnosticsOf(result.stdout)).toEqual(['notes:1:1: no .yaml or .yml files in directory']);
  });

  it('stdin, valid', async () => {
    const input =
      'apiVersion: rmm/v1\nkind: Site\nmetadata: {name: alpha}\nspec: {}\n---\napiVersion: rmm/v1\nkind: Device\nmetadata: {name: alpha-web-01}\nspec: {site: alpha}\n';
    const result = await rmm(['validate', '-f', '-'], { input });
    expectCleanExit(result, 0);
    expect(result.stdout.trim()).toBe('Valid: 2 resources in 1 file.');
  });

  it('stdin, invalid', async () => {
    const input =
      'apiVersion: rmm/v1\nkind: Device\nmetadata:\n  name: alpha-web-01\nspec:\n  site: alpha\n  os: linux\n';
    const result = await rmm(['validate', '-f', '-'], { input });
    expectCleanExit(result, 1);
    expect(diagnosticsOf(result.stdout)).toEqual([
      '<stdin>:6:9: Device/alpha-web-01: site "alpha" is not declared',
    ]);
  });

  it('the committed corpus of invalid files, all at once', async () => {
    const result = await rmm(['validate', '-f', path.join(repoRoot, 'test', 'corpus', 'invalid'), '-R']);
    expectCleanExit(result, 1);
    for (const line of diagnosticsOf(result.stdout)) expect(line).toMatch(/^\S+\.ya?ml:\d+:\d+: \S/);
  });
});

describe('rmm validate never touches a database', () => {
  it.each([
    { name: 'valid input', inputs: ['policies', 'examples'], exitCode: 0 },
    { name: 'invalid input', inputs: ['test/corpus/invalid'], exitCode: 1 },
  ])('creates nothing in its working directory ($name)', async ({ inputs, exitCode }) => {
    const cwd = await mkdtemp(path.join(tmp, 'cwd-'));
    const files = inputs.flatMap((input) => ['-f', path.join(repoRoot, input)]);
    const result = await rmm(['validate', ...files, '-R'], { cwd });
    expectCleanExit(result, exitCode);
    expect(await readdir(cwd)).toEqual([]);
  });
});
