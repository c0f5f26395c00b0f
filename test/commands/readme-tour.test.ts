import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleKindSchemas } from '../../src/resources/bundle-schemas.js';
import { repoRoot, runCli } from '../helpers/cli.js';

/** The README's tour, run as written in the clone's root, for the commands that need no database. */
function tourLines(): string[] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const tour = /## A short tour\n+```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!tour) throw new Error('README.md has no "A short tour" sh block');
  return tour
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line.startsWith('./bin/run.js '));
}

function tourArgs(command: string): string[] {
  const line = tourLines().find((l) => l.startsWith(`./bin/run.js ${command}`));
  if (!line) throw new Error(`the tour has no ./bin/run.js ${command} line`);
  return line.split(/\s+/).slice(1);
}

describe("README's tour", () => {
  it('schema export works in the root of a clone and writes the schemas examples/ points at', async () => {
    const dir = path.join(repoRoot, 'examples/schemas');
    const committed = new Map(readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]));
    const result = await runCli(tourArgs('schema export'), { cwd: repoRoot });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    // The examples' first lines name ../schemas/KIND.schema.json: the folder the command wrote.
    const pointer = readFileSync(path.join(repoRoot, 'examples/devices/alpha.yaml'), 'utf8').split('\n')[0];
    expect(pointer).toBe('# yaml-language-server: $schema=../schemas/device.schema.json');
    // The kinds' schemas, and the committed copies are what the command writes (so they are current).
    for (const [file] of bundleKindSchemas()) expect(committed.has(file), file).toBe(true);
    expect(new Map(readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]))).toEqual(
      committed,
    );
  });

  it('validate works as written', async () => {
    const result = await runCli(tourArgs('validate -f policies -f examples -R'), { cwd: repoRoot });
    expect(result.exitCode).toBe(0);
  });
});
