import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import jsyaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { yaml12CoreSchema } from '../../src/load/core-schema.js';
import { ANY_RULE, needsPreciseParse } from '../../src/load/fast-path-rules.js';
import { parseDocumentText, shapeProblem } from '../../src/load/parse-document.js';
import { parsePrecise } from '../../src/load/precise-parse.js';
import { splitDocuments } from '../../src/load/split-documents.js';

/**
 * The loader reads valid input with js-yaml (fast) and everything else with `yaml` (precise). Both
 * must reach the same value and the same accept/reject verdict, or a document would mean one thing
 * when valid and another when it has an error elsewhere.
 */
type Verdict = { ok: true; value: unknown } | { ok: false };

function fast(text: string): Verdict {
  try {
    return { ok: true, value: jsyaml.load(text, { schema: yaml12CoreSchema }) };
  } catch {
    return { ok: false };
  }
}

/** The reference: yaml's reading, under the loader's limits on depth and size. */
function precise(text: string): Verdict {
  const result = parsePrecise(text);
  return result.ok && !shapeProblem(result.value) ? { ok: true, value: result.value } : { ok: false };
}

function loader(text: string): Verdict {
  const result = parseDocumentText(text);
  return result.ok ? { ok: true, value: result.value } : { ok: false };
}

function expectFastAgrees(text: string): void {
  const quick = fast(text);
  if (quick.ok) expect(precise(text)).toEqual(quick);
}

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return yamlFilesUnder(full);
    return /\.ya?ml$/.test(name) ? [full] : [];
  });
}

const corpusChunks = ['test/corpus', 'examples', 'schemas']
  .filter((dir) => existsSync(dir))
  .flatMap((dir) =>
    yamlFilesUnder(dir).flatMap((file) =>
      splitDocuments(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')).map((chunk, i) => ({
        label: `${file}#${i}`,
        text: chunk.text,
      })),
    ),
  );

describe('fast and precise parsers agree', () => {
  it('the corpus is not trivially small', () => {
    expect(corpusChunks.length).toBeGreaterThan(200);
  });

  // Counterexamples the property below found, kept so they run every time.
  it.each([
    // An empty entry holding only a comment: js-yaml hung the next, less indented entry under it.
    '1_000:\n  - 1_000:\n      - #\n  - 1_000: \nA: 1_000\n',
  ])('on the counterexample %j', (text) => {
    expect(loader(text)).toEqual(precise(text));
    if (!needsPreciseParse(text)) expectFastAgrees(text);
  });

  it.each(corpusChunks)('on $label', ({ text }) => {
    expect(loader(text)).toEqual(precise(text));
    // The quick routing check never misses what the full rule set would catch.
    if (ANY_RULE.test(text)) expect(needsPreciseParse(text)).toBe(true);
    // Whatever the fast parser accepts by itself, the precise one accepts with the same value.
    // (What it refuses goes to the precise parser, whose verdict stands.)
    if (!needsPreciseParse(text)) expectFastAgrees(text);
  });

  // Plain scalars whose type differs between YAML 1.1, js-yaml's own schemas and YAML 1.2 core.
  const tricky = [
    '1_000',
    '0b101',
    '0o17',
    '017',
    '0x1F',
    '0X1F',
    '+12',
    '-0',
    '.5',
    '+.5',
    '1.',
    '1e3',
    '1E+3',
    '.5e',
    '1e',
    '.inf',
    '-.Inf',
    '+.INF',
    '.nan',
    '.NaN',
    'NaN',
    'inf',
    '~',
    'null',
    'Null',
    'NULL',
    'nULL',
    'true',
    'True',
    'TRUE',
    'tRue',
    'yes',
    'no',
    'on',
    'off',
    'y',
    'n',
    '2024-01-01',
    '2001-12-14t21:59:43.10-05:00',
    '12:30:00',
    '1:20',
    '0.',
    '00',
    '-',
    '---',
    '...',
    '=',
    '<<',
    '""',
    "''",
    '"a"',
    "'b'",
    'a b',
    'é',
    '日本',
    '😀',
    '\\u0041',
  ];
  const plainish = fc.stringMatching(/^[-a-zA-Z0-9_.:~+ ]{0,8}$/);
  const wild = fc.string({
    unit: fc.constantFrom(...'ab1-_.:#&*!|>\'"{}[],% @`\t\\'.split('')),
    maxLength: 6,
  });
  const token = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...tricky) },
    { weight: 3, arbitrary: plainish },
    { weight: 1, arbitrary: wild },
  );

  // A block scalar: its header and lines, some of them blank or indented further.
  type Block = { header: string; lines: string[] };
  const block = fc.record({
    header: fc.constantFrom('|', '>', '|-', '>+', '|2', '>-'),
    lines: fc.array(
      fc.oneof(
        token,
        fc.constant(''),
        token.map((t) => `  ${t}`),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  });
  type Value = Tree | string | string[] | Block | Tree[];
  type Tree = { entries: Array<[string, Value]> };
  const tree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
    tree: fc.record({
      entries: fc.array(
        fc.tuple(
          token,
          fc.oneof(
            { depthSize: 'small', withCrossShrink: true },
            token,
            fc.array(token, { maxLength: 4 }),
            block,
            tie('tree'),
            fc.array(tie('tree'), { minLength: 1, maxLength: 3 }),
          ),
        ),
        { minLength: 1, maxLength: 5 },
      ),
    }),
  })).tree;

  function emit(node: Tree, indent: string, flowLists: boolean): string {
    return node.entries
      .map(([key, value]) => {
        if (typeof value === 'string') return `${indent}${key}: ${value}\n`;
        if ('header' in value) {
          return `${indent}${key}: ${value.header}\n${value.lines.map((l) => (l ? `${indent}  ${l}\n` : '\n')).join('')}`;
        }
        if (Array.isArray(value) && value.length > 0 && typeof value[0] === 'object') {
          // A list of maps, written the usual way: "- first: entry" then the rest indented under it.
          return `${indent}${key}:\n${(value as Tree[])
            .map((item) => `${indent}  - ${emit(item, `${indent}    `, flowLists).slice(indent.length + 4)}`)
            .join('')}`;
        }
        if (Array.isArray(value)) {
          if (flowLists) return `${indent}${key}: [${(value as string[]).join(', ')}]\n`;
          return `${indent}${key}:\n${(value as string[]).map((v) => `${indent}  - ${v}\n`).join('')}`;
        }
        return `${indent}${key}:\n${emit(value, `${indent}  `, flowLists)}`;
      })
      .join('');
  }

  it('on generated documents, valid and invalid', () => {
    fc.assert(
      fc.property(tree, fc.boolean(), (t, flowLists) => {
        const text = emit(t, '', flowLists);
        // A document marker would make this several documents; splitting is tested on its own.
        fc.pre(!/^(---|\.\.\.)(\s|$)/m.test(text));
        if (ANY_RULE.test(text)) expect(needsPreciseParse(text)).toBe(true);
        const expected = precise(text);
        expect(loader(text)).toEqual(expected);
        if (!needsPreciseParse(text)) expectFastAgrees(text);
      }),
      { numRuns: 4000 * Number(process.env.PARITY_RUNS_FACTOR ?? 1) },
    );
  });
});
