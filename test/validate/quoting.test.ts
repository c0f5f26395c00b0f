import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/diagnostics/render.js';
import { QUOTE_LIMIT, quote } from '../../src/quote.js';
import { validateInputs } from '../../src/validate.js';

/**
 * Messages quote a user's value through one helper (src/quote.ts): cut to QUOTE_LIMIT characters
 * with its length, and never a value that looks like a secret (issue 11: a 5,000-character name and
 * a 1 MB key were echoed whole, and a private key in `tags` had its first bytes printed).
 */
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rmm-quoting-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function lines(name: string, text: string): Promise<string[]> {
  const file = path.join(tmp, name);
  await writeFile(file, text);
  return (await validateInputs([file])).diagnostics.map(formatDiagnostic);
}

const DEVICE = 'apiVersion: rmm/v1\nkind: Device\nmetadata:\n  name: web-01\nspec:\n  site: main\n';

describe('quote', () => {
  it('quotes a short value whole, and cuts a long one with its length', () => {
    expect(quote('rack "4"')).toBe('"rack \\"4\\""');
    const long = quote('x'.repeat(5000));
    expect(long).toBe(`"${'x'.repeat(QUOTE_LIMIT - 1)}…" (5000 characters)`);
  });

  it('never cuts inside a character made of two UTF-16 units', () => {
    const shown = quote(`x${'😀'.repeat(100)}`);
    expect(shown.endsWith('…" (201 characters)')).toBe(true);
    expect(shown).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  });

  it('does not show a value that looks like a secret', () => {
    const key = ['-----BEGIN RSA PRIVATE', ' KEY-----\nMIIE'].join('');
    expect(quote(key)).toBe('(a value that looks like a secret, not shown)');
  });
});

describe('messages quoting user values are short', () => {
  it.each([
    [
      'a 5,000-character name',
      `apiVersion: rmm/v1\nkind: Device\nmetadata:\n  name: ${'a'.repeat(5000)}\nspec:\n  site: main\n`,
    ],
    ['a 1,000,000-character key', `${DEVICE}  customFields:\n    ${'k'.repeat(1_000_000)}: x\n`],
    ['a 5,000-character unknown field', `${DEVICE}  ${'z'.repeat(5000)}: 1\n`],
    [
      'a 5,000-character kind and apiVersion',
      `apiVersion: ${'v'.repeat(5000)}\nkind: ${'K'.repeat(5000)}\nmetadata:\n  name: a\n`,
    ],
    ['a 5,000-character enum value', `${DEVICE}  os: ${'w'.repeat(5000)}\n`],
    ['a 5,000-character transport type', `${DEVICE}  transport:\n    type: ${'t'.repeat(5000)}\n`],
  ])('%s', async (_, text) => {
    const found = await lines('long.yaml', text);
    expect(found.length).toBeGreaterThan(0);
    for (const line of found) expect(line.length, line.slice(0, 300)).toBeLessThan(400);
    expect(found.join('\n')).toMatch(/…" \(\d+ characters\)/);
  });

  it('a private key in tags is refused as a secret, and none of it is printed', async () => {
    const key = ['-----BEGIN OPENSSH PRIVATE', ' KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ'].join(
      '',
    );
    const found = await lines('tag.yaml', `${DEVICE}  tags:\n    - "${key}"\n`);
    expect(found).toEqual([
      `${path.join(tmp, 'tag.yaml')}:8:7: Device/web-01: this item looks like a private key; secrets never belong in YAML`,
    ]);
  });
});
