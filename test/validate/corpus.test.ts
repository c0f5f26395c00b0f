import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compareDiagnostics, type Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { formatDiagnostic } from '../../src/diagnostics/render.js';
import { validateInputs } from '../../src/validate.js';

/**
 * The corpus under test/corpus: every invalid file (or folder, checked as one input) states the
 * diagnostics it must produce in `# expect: LINE:COLUMN: Kind/name: message` lines; every valid file
 * and the examples must produce none. Adding a file needs no code here.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const invalidDir = path.join('test', 'corpus', 'invalid');
const validDir = path.join('test', 'corpus', 'valid');
const YAML_FILE = /\.ya?ml$/i;
const EXPECT = /^# expect: (\d+):(\d+): (.*)$/;

// Inputs are named relative to the repository root, as the expectations name files in messages
// (a duplicate's "first is at test/corpus/...").
if (process.cwd() !== repoRoot) process.chdir(repoRoot);

/** The corpus entries of a directory: YAML files and subfolders, in a stable order. */
function entriesOf(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.'))
    .sort()
    .map((name) => path.join(dir, name))
    .filter((entry) => statSync(entry).isDirectory() || YAML_FILE.test(entry));
}

/** Every YAML file of an input, named as the validator names it (path.join of the walk). */
function yamlFilesOf(input: string): string[] {
  if (!statSync(input).isDirectory()) return [input];
  return entriesOf(input).flatMap((entry) => yamlFilesOf(entry));
}

/** The expected diagnostics of an input, formatted and in the validator's order. */
function expectedOf(input: string): string[] {
  const expected: Diagnostic[] = [];
  for (const file of yamlFilesOf(input)) {
    const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
    for (const line of text.split(/\r?\n/)) {
      const match = EXPECT.exec(line);
      if (!match) continue;
      const [, lineNo, column, rest] = match as unknown as [string, string, string, string];
      expected.push({
        severity: 'error',
        code: 'schema',
        file,
        line: Number(lineNo),
        column: Number(column),
        message: rest,
      });
    }
  }
  // The kind/name part is already in `message`: format by hand, sort as the validator does.
  return expected.sort(compareDiagnostics).map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`);
}

const invalidInputs = entriesOf(invalidDir);
/** Each entry is validated alone; the examples need the shipped policies they use. */
const validInputs = [...entriesOf(validDir), 'policies', 'policies + examples'];

describe('invalid corpus', () => {
  it('covers at least 45 rules', () => {
    expect(invalidInputs.length).toBeGreaterThanOrEqual(45);
  });

  it.each(invalidInputs)('%s', async (input) => {
    const expected = expectedOf(input);
    expect(expected.length, `${input} states no "# expect:" lines`).toBeGreaterThan(0);
    const { diagnostics } = await validateInputs([input], { recursive: true });
    const actual = diagnostics.map(formatDiagnostic);
    expect(actual.length).toBeGreaterThan(0);
    expect(actual).toEqual(expected);
  });
});

describe('valid corpus and examples', () => {
  it.each(validInputs)('%s', async (input) => {
    const result = await validateInputs(input.split(' + '), { recursive: true });
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(result.documents).toBeGreaterThan(0);
  });
});
