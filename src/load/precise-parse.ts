import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  visit,
  type YAMLMap,
} from 'yaml';
import type { PathSegment } from '../diagnostics/diagnostic.js';
import { cutMessage } from '../quote.js';
import { quotedScalars } from './quoted-scalars.js';

/**
 * The `yaml` library, used where it is best: exact positions for error messages. It re-reads only
 * documents that failed, or that need a position for a diagnostic; valid input never comes here.
 */

/** Resource kinds nest about eight levels deep; far deeper input is hostile. */
export const MAX_DEPTH = 64;

/** Alias expansions allowed per document (yaml's own default): enough for DRY files, not for a bomb. */
export const MAX_ALIAS_COUNT = 100;

export interface PreciseProblem {
  code: 'syntax' | 'aliases' | 'nesting' | 'too-large';
  message: string;
  /** 0-based, within the document text. */
  line: number;
  column: number;
}

export type PreciseResult = { ok: true; value: unknown } | { ok: false; problems: PreciseProblem[] };

const options = {
  schema: 'core',
  merge: false,
  uniqueKeys: true,
  strict: true,
  prettyErrors: false,
  // !!binary, !!timestamp, !!set and the like would become Uint8Array, Date, Set: not resource data.
  resolveKnownTags: false,
  // Problems are returned, never printed: yaml would otherwise write warnings to stderr itself.
  logLevel: 'silent',
} as const;

/** yaml's wording where a plainer one helps an admin more. */
const FRIENDLIER: Record<string, string> = {
  BLOCK_AS_IMPLICIT_KEY: 'unexpected ": " inside a value; quote the value if it contains ": "',
  DUPLICATE_KEY: 'duplicate key: each key may appear once in a mapping',
  TAB_AS_INDENT: 'tabs cannot indent YAML; use spaces',
};

export function parsePrecise(text: string): PreciseResult {
  const lineCounter = new LineCounter();
  let doc: Document | undefined;
  try {
    doc = parseDocument(text, { ...options, lineCounter });
    // Warnings (an unknown tag, say) are errors here: a value we cannot type must not slip through.
    const issues = [...doc.errors, ...doc.warnings];
    if (issues.length > 0) {
      return {
        ok: false,
        problems: issues.map((e): PreciseProblem => {
          if (/call stack/i.test(e.message)) return nestingProblem(text);
          const offset =
            e.code === 'MISSING_CHAR' && /quote/.test(e.message)
              ? (unclosedQuoteOffset(text) ?? e.pos[0])
              : e.pos[0];
          const { line, col } = lineCounter.linePos(offset);
          return {
            code: 'syntax',
            message: FRIENDLIER[e.code] ?? cleanMessage(e.message),
            line: line - 1,
            column: col - 1,
          };
        }),
      };
    }
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (error) {
    if (error instanceof RangeError) return { ok: false, problems: [nestingProblem(text)] };
    // yaml throws a ReferenceError both for an alias with no anchor and for an alias bomb.
    const unresolved = error instanceof ReferenceError && doc ? firstUnresolvedAlias(doc) : undefined;
    if (unresolved) {
      const { line, col } = lineCounter.linePos(unresolved.range?.[0] ?? 0);
      const message = `alias *${unresolved.source} refers to no anchor: no &${unresolved.source} is set before it`;
      return { ok: false, problems: [{ code: 'syntax', message, line: line - 1, column: col - 1 }] };
    }
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      return {
        ok: false,
        problems: [
          {
            code: 'aliases',
            message: `more than ${MAX_ALIAS_COUNT} alias expansions (a resource-exhaustion pattern); expand the aliases by hand`,
            ...documentStart(text),
          },
        ],
      };
    }
    throw error;
  }
}

/**
 * The first alias with no anchor of its name before it, in document order (where yaml looks): it was
 * reported as an alias bomb.
 */
function firstUnresolvedAlias(doc: Document): Alias | undefined {
  const anchors = new Set<string>();
  let found: Alias | undefined;
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        if (anchors.has(node.source)) return undefined;
        found = node;
        return visit.BREAK;
      }
      if (node.anchor) anchors.add(node.anchor);
      return undefined;
    },
  });
  return found;
}

function nestingProblem(text: string): PreciseProblem {
  return { code: 'nesting', message: `nesting deeper than ${MAX_DEPTH} levels`, ...documentStart(text) };
}

/** yaml's messages end with a source excerpt and position; keep just the sentence. */
function cleanMessage(message: string): string {
  // The sentence may quote the input (a tag, an alias name): cut as every quoted value is.
  return cutMessage(message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? message);
}

/** Where the quoted scalar that never closes opens: yaml reports the end of the text instead. */
function unclosedQuoteOffset(text: string): number | undefined {
  for (const span of quotedScalars(text)) if (span.close === -1) return span.open;
  return undefined;
}

/**
 * The 0-based line and column of a document's first content (not blank, a comment, a directive or a
 * marker): where problems about the document as a whole point.
 */
export function documentStart(text: string): { line: number; column: number } {
  // Line by line: a multi-line regex here retried its `\s*$` at every blank line, so 500,000 blank
  // lines before a problem took 62 s.
  let line = 0;
  for (let start = 0; start < text.length; line++) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const content = /^\s*/.exec(text.slice(start, end))?.[0].length ?? 0;
    const skipped = start + content === end || /^(?:---|\.\.\.|#|%)/.test(text.slice(start, start + 3));
    if (!skipped) return { line, column: content };
    if (newline === -1) break;
    start = newline + 1;
  }
  return { line: 0, column: 0 };
}

/** Finds where values sit in one document: 0-based line and column. */
export type Locator = (
  path: readonly PathSegment[],
  at?: 'key' | 'value',
) => { line: number; column: number };

/**
 * A locator for one document, which parses it once, on first use, however many positions are asked
 * for: a document with thousands of problems would otherwise be re-read for each (4,000 unknown keys
 * in 35 KB took 444 s). Maps are indexed by key on first lookup, so each lookup costs its path's length.
 */
export function locator(text: string): Locator {
  let parsed: { doc: ReturnType<typeof parseDocument>; lineCounter: LineCounter } | undefined;
  const keys = new WeakMap<object, Map<string, Pair>>();
  const pairIn = (map: YAMLMap, segment: PathSegment): Pair | undefined => {
    let index = keys.get(map);
    if (!index) {
      index = new Map();
      for (const pair of map.items) {
        const key = String(isScalar(pair.key) ? pair.key.value : undefined);
        if (isScalar(pair.key) && !index.has(key)) index.set(key, pair);
      }
      keys.set(map, index);
    }
    return index.get(String(segment));
  };
  return (path, at = 'value') => {
    if (!parsed) {
      const lineCounter = new LineCounter();
      parsed = {
        doc: parseDocument(text, { ...options, lineCounter, keepSourceTokens: false }),
        lineCounter,
      };
    }
    let node: Node | null = parsed.doc.contents;
    let keyNode: Node | null = null;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = pairIn(node, segment);
        if (!pair) break;
        keyNode = pair.key as Node;
        node = (pair.value as Node | null) ?? keyNode;
      } else if (isSeq(node) && node.items[Number(segment)]) {
        keyNode = null;
        node = node.items[Number(segment)] as Node;
      } else {
        break;
      }
    }
    const target = at === 'key' && keyNode ? keyNode : (node ?? keyNode);
    const offset = target?.range?.[0];
    if (offset === undefined) return documentStart(text);
    const { line, col } = parsed.lineCounter.linePos(offset);
    return { line: line - 1, column: col - 1 };
  };
}
