import { describe, expect, it } from 'vitest';
import { splitDocuments } from '../../src/load/split-documents.js';

const texts = (input: string) => splitDocuments(input).map((c) => [c.firstLine, c.text]);

describe('splitDocuments', () => {
  it.each([
    { name: 'a single bare document', input: 'a: 1\nb: 2\n', expected: [[0, 'a: 1\nb: 2\n']] },
    {
      name: 'documents separated by ---',
      input: 'a: 1\n---\nb: 2\n',
      expected: [
        [0, 'a: 1\n'],
        [1, '---\nb: 2\n'],
      ],
    },
    {
      name: 'comments before the first marker stay with it',
      input: '# c\n---\na: 1\n',
      expected: [[0, '# c\n---\na: 1\n']],
    },
    {
      name: 'a directive belongs to the next document',
      input: '%YAML 1.2\n---\na: 1\n',
      expected: [[0, '%YAML 1.2\n---\na: 1\n']],
    },
    {
      name: 'an end marker closes a document',
      input: 'a: 1\n...\nb: 2\n',
      expected: [
        [0, 'a: 1\n...'],
        [2, 'b: 2\n'],
      ],
    },
    {
      name: 'content on the marker line',
      input: '--- {a: 1}\n--- {b: 2}\n',
      expected: [
        [0, '--- {a: 1}\n'],
        [1, '--- {b: 2}\n'],
      ],
    },
    {
      name: 'CRLF line endings',
      input: 'a: 1\r\n---\r\nb: 2\r\n',
      expected: [
        [0, 'a: 1\r\n'],
        [1, '---\r\nb: 2\r\n'],
      ],
    },
    {
      name: 'an empty explicit document is kept (it parses to null)',
      input: '---\n---\na: 1\n',
      expected: [
        [0, '---\n'],
        [1, '---\na: 1\n'],
      ],
    },
    { name: 'comment-only text has no document', input: '# only\n\n# comments\n', expected: [] },
    {
      name: '---x is not a marker',
      input: 'a: |\n  ---x\n---x: 1\n',
      expected: [[0, 'a: |\n  ---x\n---x: 1\n']],
    },
    {
      name: 'an indented --- is not a marker',
      input: 'a: |\n  ---\n  text\n',
      expected: [[0, 'a: |\n  ---\n  text\n']],
    },
    {
      name: 'no final newline',
      input: 'a: 1\n---\nb: 2',
      expected: [
        [0, 'a: 1\n'],
        [1, '---\nb: 2'],
      ],
    },
  ])('$name', ({ input, expected }) => {
    expect(texts(input)).toEqual(expected);
  });
});
