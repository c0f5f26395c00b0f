import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ANY_RULE, needsPreciseParse } from '../../src/load/fast-path-rules.js';
import { splitDocuments } from '../../src/load/split-documents.js';

describe('needsPreciseParse', () => {
  // Text without the rare characters goes through the line scanner; each row is one of its rules.
  it.each([
    ['a lone dash', 'a:\n  -\n  - b\n'],
    ['a lone dash with CRLF', 'a:\r\n  -\r\n  - b\r\n'],
    ['a dash at the end of the text', 'a:\n-'],
    ['a doubled dash', 'a:\n  - - b\n  - c\n'],
    ['an empty key', 'a:\n  : b\n'],
    ['an empty key after a dash', 'a:\n  - : b\n'],
    ['a collection key', '[a, b]: c\n'],
    ['a flow map key after a dash', '- {a: 1}: c\n'],
    ['a marker lookalike', '---x: 1\n'],
    ['an end-marker lookalike', '...x: 1\n'],
    ['an empty key in a flow collection', 'a: [:]\n'],
    ['an empty key after a comma', 'a: {b: 1, : 2}\n'],
    ['a multi-line quoted scalar', 'a: "b\n  c"\n'],
    ['an alias', 'a: &x 1\nb: *x\n'],
    ['a null key', 'null: 1\n'],
    ['a comment before a deeper line (found by the parity test)', '_: \n#: |\n  +\n1_000: \n'],
  ])('routes %s to the precise parser', (_name, text) => {
    expect(needsPreciseParse(text)).toBe(true);
  });

  it.each([
    ['a dash inside a word', 'a: b-c\n- d\n'],
    ['a flow list value', 'a: [b, c]\n'],
    ['a comment at the indentation of the line after it', 'spec:\n  # the site\n  site: main\n'],
    ['a flow map value', 'a: {b: 1, c: 2}\n'],
    ['a quoted value with a colon', 'mac: "00:1A:2B:3C:4D:5E"\n'],
    ['a --- inside a value', 'a: b --- c\n'],
  ])('lets %s take the fast path', (_name, text) => {
    expect(needsPreciseParse(text)).toBe(false);
  });

  it('lets every device of the examples take the fast path', () => {
    const chunks = splitDocuments(readFileSync('examples/devices/alpha.yaml', 'utf8'));
    // The first document carries the file's comment header (a '#'), which the full rules clear too.
    const routed = chunks.filter((c) => needsPreciseParse(c.text));
    expect(routed).toEqual([]);
    expect(chunks.filter((c) => ANY_RULE.test(c.text))).toEqual([]);
  });
});
