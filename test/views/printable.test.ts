import { describe, expect, it } from 'vitest';
import { printable, printableLines } from '../../src/printable.js';
import { paint } from '../../src/views/color.js';
import { renderValidation } from '../../src/views/diagnostics.js';
import { printableOutput } from '../../src/views/output.js';
import { textTable } from '../../src/views/table.js';

const ESC = '\u001b';

describe('printable: one field on one line', () => {
  it.each([
    { text: 'plain text, Zürich, 東京, C:\\Users\\x', shown: 'plain text, Zürich, 東京, C:\\Users\\x' },
    { text: `${ESC}[2J`, shown: '\\u001b[2J' },
    { text: `${ESC}]0;title\u0007`, shown: '\\u001b]0;title\\u0007' },
    { text: 'a\nb\tc\rd', shown: 'a\\u000ab\\u0009c\\u000dd' },
    { text: '\u0000\u007f', shown: '\\u0000\\u007f' },
    { text: '\u0085\u009b31m', shown: '\\u0085\\u009b31m' },
    { text: 'user\u202etxt.exe', shown: 'user\\u202etxt.exe' },
    {
      text: '\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069',
      shown: '\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069',
    },
  ])('$shown', ({ text, shown }) => {
    expect(printable(text)).toBe(shown);
    // Escaping twice changes nothing.
    expect(printable(printable(text))).toBe(shown);
  });
});

describe('printableLines: text of several lines', () => {
  it('keeps newlines, tabs and CR LF; escapes a lone CR, which would overwrite the line', () => {
    expect(printableLines(`a\tb\r\nc\rhidden\n${ESC}[1Ad`)).toBe('a\tb\r\nc\\u000dhidden\n\\u001b[1Ad');
  });
});

describe('printableOutput: the last guard where rmm writes', () => {
  it("lets rmm's own colors pass and nothing else", () => {
    const colored = paint(true)('red', 'Invalid');
    expect(printableOutput(colored)).toBe(colored);
    for (const sequence of [`${ESC}[2J`, `${ESC}[8m`, `${ESC}[31;1m`, `${ESC}]52;c;eA==\u0007`, `${ESC}c`])
      expect(printableOutput(`x${sequence}y`)).not.toContain(ESC);
  });

  it('leaves JSON text valid and equal in value', () => {
    const value = { name: `a\u202eb\u0085c\u007f${ESC}`, path: 'C:\\x\\\u202e' };
    const text = printableOutput(JSON.stringify(value, null, 2));
    for (const char of ['\u007f', '\u0085', '\u202e', ESC]) expect(text).not.toContain(char);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('views escape what they color and align', () => {
  it('a colored diagnostic: its message in red, the hostile key escaped inside', () => {
    const text = renderValidation(
      {
        files: 1,
        documents: 1,
        diagnostics: [
          {
            severity: 'error',
            code: 'schema',
            file: `f${ESC}[2J.yaml`,
            line: 7,
            column: 3,
            kind: 'Site',
            name: 'alpha',
            message: `unknown field "k${ESC}[8m\u202e"`,
          },
        ],
      },
      true,
    );
    expect(text.split('\n')[0]).toBe(
      `f\\u001b[2J.yaml:7:3: Site/alpha: ${ESC}[31munknown field "k\\u001b[8m\\u202e"${ESC}[0m`,
    );
  });

  it('a table measures cells after escaping them, so columns stay aligned', () => {
    const table = textTable(
      [
        ['NAME', (r: { name: string; site: string }) => r.name],
        ['SITE', (r) => r.site],
      ],
      [
        { name: `a${ESC}[2J`, site: 'x' },
        { name: 'b\nc', site: 'y' },
      ],
    );
    expect(table).toBe(['NAME        SITE', 'a\\u001b[2J  x', 'b\\u000ac    y'].join('\n'));
  });
});
