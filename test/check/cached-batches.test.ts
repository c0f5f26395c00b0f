import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validateInputs } from '../../src/validate.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const device = (i: number) =>
  `apiVersion: rmm/v1\nkind: Device\nmetadata:\n  name: dev-${String(i).padStart(4, '0')}\nspec:\n  site: main\n  address: 10.0.${i % 250}.1\n  tags: [t${i % 3}]\n`;

describe('the check cache over files of several batches', () => {
  it("stores every document's result of a file checked in more than one batch, and reads them back", async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rmm-cached-batches-'));
    const cacheDir = path.join(dir, 'cache');
    const input = path.join(dir, 'fleet');
    mkdirSync(input);
    mkdirSync(cacheDir);
    // 1,201 documents: three batches of at most 500 in one file, and a small file beside it.
    writeFileSync(
      path.join(input, 'many.yaml'),
      Array.from({ length: 1201 }, (_, i) => device(i)).join('---\n'),
    );
    writeFileSync(path.join(input, 'one.yaml'), device(5000));
    const first = await validateInputs([input], { collect: true, cacheDir });
    expect(first.diagnostics).toEqual([]);
    expect(first.resources).toHaveLength(1202);
    const entries = readdirSync(path.join(cacheDir, 'check')).filter((f) => f !== 'seen.json');
    const lines = entries.map(
      (f) => readFileSync(path.join(cacheDir, 'check', f), 'utf8').split('\n').length,
    );
    // A header, one line per document, and the final newline.
    expect(lines.sort((a, b) => a - b)).toEqual([3, 1203]);
    const second = await validateInputs([input], { collect: true, cacheDir });
    expect(second.resources.map((r) => [r.kind, r.name, r.image])).toEqual(
      first.resources.map((r) => [r.kind, r.name, r.image]),
    );
  });
});
