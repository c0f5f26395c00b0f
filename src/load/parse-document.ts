import jsyaml from 'js-yaml';
import { yaml12CoreSchema } from './core-schema.js';
import { documentStart, MAX_DEPTH, type PreciseProblem, parsePrecise } from './precise-parse.js';
import { quotedScalars } from './quoted-scalars.js';

/** A single resource is a few hundred bytes; a 1 MiB document is a mistake or an attack. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

export type ParseResult = { ok: true; value: unknown } | { ok: false; problems: PreciseProblem[] };

// An anchor (&a), alias (*a) or tag (!t) where a node can start. It may match inside a string too;
// then the document just takes the precise path, which expands aliases under a limit.
const NODE_PROPERTY = /(?:^|[\s[{,:-])[&*!]/;
// A sequence nested on the same line as its parent's dash ("- - a"), or an empty entry (a lone
// "-"): js-yaml misreads the lines that follow.
const COMPACT_NESTED_SEQUENCE = /^[ \t]*-[ \t]+-(?:[ \t]|$)/m;
const EMPTY_SEQUENCE_ENTRY = /^[ \t]*-[ \t]*$/m;

/**
 * Parses one document. The fast path (js-yaml, same value resolution as `yaml`) takes valid input;
 * anything it rejects, and anything with anchors or aliases, is read by `yaml`, which gives positions
 * and bounds alias expansion. Both paths reach the same value and the same verdict
 * (test/load/parser-parity.test.ts).
 */
export function parseDocumentText(text: string): ParseResult {
  if (text.length > MAX_DOCUMENT_BYTES) {
    return {
      ok: false,
      problems: [
        {
          code: 'too-large',
          message: `document is ${formatSize(text.length)}, over the limit of ${formatSize(MAX_DOCUMENT_BYTES)} for one resource`,
          ...documentStart(text),
        },
      ],
    };
  }
  let result: ParseResult;
  if (needsPreciseParse(text)) {
    result = parsePrecise(text);
  } else {
    try {
      result = { ok: true, value: jsyaml.load(text, { schema: yaml12CoreSchema }) };
    } catch {
      // yaml is the reference: its verdict stands, with positions, and it also accepts the few
      // valid constructs js-yaml refuses (an empty implicit key, for one).
      result = parsePrecise(text);
    }
  }
  const tooBig = result.ok ? shapeProblem(result.value) : undefined;
  if (tooBig) return { ok: false, problems: [{ code: 'nesting', message: tooBig, ...documentStart(text) }] };
  return result;
}

// Keys js-yaml reads differently: null keys ("null" there, "" in yaml), empty keys, collection keys
// ("" there, "[]" in yaml) and explicit "? " keys.
const BLOCK_NULL_KEY = /^[ \t]*(?:-[ \t]+)?(?:~|null|Null|NULL)?[ \t]*:(?:[ \t]|$)/m;
const FLOW_NULL_KEY = /[[{,][ \t]*(?:~|null|Null|NULL)?[ \t]*:(?:[ \t,\]}]|$)/;
const COLLECTION_OR_EXPLICIT_KEY = /^[ \t]*(?:-[ \t]+)?(?:[[{].*[\]}][ \t]*:(?:[ \t]|$)|\?(?:[ \t]|$))/m;
// A block scalar with an explicit indentation indicator (|2, >-1): whitespace-only lines differ.
const BLOCK_INDENT_INDICATOR = /(?:^|[ \t])[|>](?:[1-9][-+]?|[-+][1-9])[ \t]*(?:#.*)?$/m;
// A tab among a line's leading blanks: YAML forbids tabs as indentation, and the parsers disagree
// on what such lines mean inside block scalars.
const TAB_IN_INDENT = /^ *\t/m;
// "---x" or "...x" at a line's start: plain text to YAML, a document marker to js-yaml.
const MARKER_LOOKALIKE = /^(?:---|\.\.\.)\S/m;
// A comment glued to a closing bracket or quote: an error in YAML that js-yaml lets pass.
const GLUED_COMMENT = /[\]}"']#/;

/**
 * Constructs where js-yaml would read something other than `yaml` does, or where only `yaml` bounds
 * the cost: they are rare in resources and simply take the precise path. The parity test
 * (test/load/parser-parity.test.ts) is what finds them; add a rule here when it finds another.
 */
export function needsPreciseParse(text: string): boolean {
  return (
    NODE_PROPERTY.test(text) ||
    COMPACT_NESTED_SEQUENCE.test(text) ||
    EMPTY_SEQUENCE_ENTRY.test(text) ||
    BLOCK_NULL_KEY.test(text) ||
    FLOW_NULL_KEY.test(text) ||
    COLLECTION_OR_EXPLICIT_KEY.test(text) ||
    BLOCK_INDENT_INDICATOR.test(text) ||
    TAB_IN_INDENT.test(text) ||
    MARKER_LOOKALIKE.test(text) ||
    GLUED_COMMENT.test(text) ||
    hasMultilineQuote(text)
  );
}

/**
 * Whether a quoted scalar runs past the end of its line. js-yaml folds such scalars without checking
 * their continuation lines' indentation, where YAML (and `yaml`) refuse.
 */
function hasMultilineQuote(text: string): boolean {
  for (const span of quotedScalars(text)) if (span.multiline) return true;
  return false;
}

/** Nodes in one document after alias expansion: far above any real resource. */
const MAX_NODES = 100_000;

/** Why a parsed value is too deep or too large to process safely, if it is. */
export function shapeProblem(value: unknown): string | undefined {
  // Iterative, so hostile depth cannot overflow the stack here.
  const stack: Array<[unknown, number]> = [[value, 0]];
  let nodes = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    if (depth >= MAX_DEPTH) return `nesting deeper than ${MAX_DEPTH} levels`;
    if (++nodes > MAX_NODES) return `more than ${MAX_NODES} collections in one document`;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return undefined;
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
