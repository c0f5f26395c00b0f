import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from '../../src/load/nesting-scan.js';
import { parseDocumentText } from '../../src/load/parse-document.js';

const open = (n: number) => '['.repeat(n);
const nested = (n: number) => `${open(n)}${']'.repeat(n)}`;

/** The scan refuses only what the parsers refuse too; what it misses, the parsers still catch. */
describe('nestsDeeperThan 64', () => {
  it.each([
    { name: '64 nested flow sequences', text: nested(64), deeper: false, valid: true },
    { name: '65 nested flow sequences', text: nested(65), deeper: true, valid: false },
    { name: '65 unclosed brackets', text: open(65), deeper: true, valid: false },
    {
      name: '65 nested flow maps',
      text: `${'{a: '.repeat(65)}b${'}'.repeat(65)}`,
      deeper: true,
      valid: false,
    },
    { name: '64 compact block sequences', text: `${'- '.repeat(64)}x\n`, deeper: false, valid: true },
    { name: '65 compact block sequences', text: `${'- '.repeat(65)}x\n`, deeper: true, valid: false },
    {
      name: 'compact sequences and brackets',
      text: `${'- '.repeat(40)}${nested(25)}\n`,
      deeper: true,
      valid: false,
    },
    {
      name: 'compact sequences on separate lines do not add up',
      text: `${'- '.repeat(40)}x\n${'- '.repeat(40)}y\n`,
      deeper: false,
      valid: true,
    },
    { name: 'brackets in a quoted scalar', text: `a: "${open(100)}"\n`, deeper: false, valid: true },
    { name: 'brackets in a single-quoted scalar', text: `a: '${open(100)}'\n`, deeper: false, valid: true },
    { name: 'brackets in a plain scalar', text: `a: x${open(100)}\n`, deeper: false, valid: true },
    {
      name: 'brackets in a block scalar',
      text: `a: |\n  ${open(100)}\n  - - - -\n`,
      deeper: false,
      valid: true,
    },
    { name: 'brackets in a comment', text: `a: 1 # ${open(100)}\n`, deeper: false, valid: true },
    {
      name: 'many brackets, each closed',
      text: `a: [${'[[x]], '.repeat(100)}[[x]]]\n`,
      deeper: false,
      valid: true,
    },
  ])('$name', ({ text, deeper, valid }) => {
    expect(nestsDeeperThan(text, 64)).toBe(deeper);
    const parsed = parseDocumentText(text);
    expect(parsed.ok).toBe(valid);
    if (deeper)
      expect(parsed).toEqual({ ok: false, problems: [expect.objectContaining({ code: 'nesting' })] });
  });
});
