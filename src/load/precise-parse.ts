import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { PathSegment } from '../diagnostics/diagnostic.js';

/**
 * The `yaml` library, used where it is best: exact positions for error messages. It re-reads only
 * documents that failed, or that need a position for a diagnostic; valid input never comes here.
 */

/** Alias expansions allowed per document (yaml's own default): enough for DRY files, not for a bomb. */
export const MAX_ALIAS_COUNT = 100;

export interface PreciseProblem {
  code: 'syntax' | 'aliases' | 'nesting';
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
} as const;

export function parsePrecise(text: string): PreciseResult {
  const lineCounter = new LineCounter();
  try {
    const doc = parseDocument(text, { ...options, lineCounter });
    // Warnings (an unknown tag, say) are errors here: a value we cannot type must not slip through.
    const issues = [...doc.errors, ...doc.warnings];
    if (issues.length > 0) {
      return {
        ok: false,
        problems: issues.map((e) => {
          const { line, col } = lineCounter.linePos(e.pos[0]);
          return { code: 'syntax', message: cleanMessage(e.message), line: line - 1, column: col - 1 };
        }),
      };
    }
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (error) {
    return { ok: false, problems: [problemFromThrow(error)] };
  }
}

export function problemFromThrow(error: unknown): PreciseProblem {
  if (error instanceof RangeError) {
    return { code: 'nesting', message: 'nesting is too deep to read', line: 0, column: 0 };
  }
  if (error instanceof ReferenceError && /alias/i.test(error.message)) {
    return {
      code: 'aliases',
      message: `more than ${MAX_ALIAS_COUNT} alias expansions (a resource-exhaustion pattern); expand the aliases by hand`,
      line: 0,
      column: 0,
    };
  }
  throw error;
}

/** yaml's messages end with a source excerpt and position; keep just the sentence. */
function cleanMessage(message: string): string {
  return message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? message;
}

/**
 * Where a value (or, with `at: 'key'`, its key) sits in a document: 0-based line and column. Walks as
 * far down `path` as the document goes, so a missing property points at the map that lacks it.
 */
export function locate(text: string, path: readonly PathSegment[], at: 'key' | 'value' = 'value') {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { ...options, lineCounter, keepSourceTokens: false });
  let node: Node | null = doc.contents;
  let keyNode: Node | null = null;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
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
  const offset = target?.range?.[0] ?? firstContentOffset(text);
  const { line, col } = lineCounter.linePos(offset);
  return { line: line - 1, column: col - 1 };
}

/** The first character that is not blank, a comment or a document marker: where a document "is". */
function firstContentOffset(text: string): number {
  const match = /^(?!---|#|%|\s*$)/m.exec(text);
  return match ? match.index : 0;
}
