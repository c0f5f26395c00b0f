import { quotedScalars } from './quoted-scalars.js';

/**
 * Which documents the fast parser (js-yaml) may read. It takes only documents where it reads exactly
 * what `yaml` reads; the rest take the precise path. Each rule below is a construct where js-yaml is
 * lenient or reads otherwise, found by the parity property test (test/load/parser-parity.test.ts):
 * when it finds another, add a rule here. The rules may match harmless text too (inside a string,
 * say); that only costs the document the slower path, never a wrong value.
 */
const RULES: Record<string, RegExp> = {
  // An anchor (&a), alias (*a) or tag (!t) where a node can start: only yaml bounds alias expansion,
  // and js-yaml types "!" and unknown tags otherwise.
  nodeProperty: /(?:^|[\s[{,:-])[&*!]/,
  // A sequence nested on its parent's dash line ("- - a"), or a lone "-": js-yaml misreads what follows.
  compactNestedSequence: /^[ \t]*-[ \t]+-(?:[ \t]|$)/,
  // An empty entry, with or without a comment ("- # c"): js-yaml hangs the next, less indented
  // entry under it.
  emptySequenceEntry: /^[ \t]*-[ \t]*(?:#.*)?$/,
  // Null keys ("null" in js-yaml, "" in yaml), empty keys, collection keys ("" vs "[]"), "? " keys.
  blockNullKey: /^[ \t]*(?:-[ \t]+)?(?:~|null|Null|NULL)?[ \t]*:(?:[ \t]|$)/,
  flowNullKey: /[[{,][ \t]*(?:~|null|Null|NULL)?[ \t]*:(?:[ \t,\]}]|$)/,
  collectionOrExplicitKey: /^[ \t]*(?:-[ \t]+)?(?:[[{].*[\]}][ \t]*:(?:[ \t]|$)|\?(?:[ \t]|$))/,
  // A block scalar with an explicit indentation indicator (|2, >-1): whitespace-only lines differ.
  blockIndentIndicator: /(?:^|[ \t])[|>](?:[1-9][-+]?|[-+][1-9])[ \t]*(?:#.*)?$/,
  // A tab among a line's leading blanks: YAML forbids it; the parsers disagree on what it means.
  tabInIndent: /^ *\t/,
  // "---x" or "...x" at a line's start: plain text to YAML, a document marker to js-yaml.
  markerLookalike: /^(?:---|\.\.\.)\S/,
  // A comment glued to a closing bracket or quote: an error in YAML that js-yaml lets pass.
  gluedComment: /[\]}"']#/,
  // A comment line followed by a more indented line ("_:", "# c", "  +"): js-yaml takes the deeper
  // line as the value above the comment, yaml as a multi-line implicit key (an error).
  commentBeforeDeeperLine: /^(?<indent>[ \t]*)#[^\n]*\n\k<indent>[ \t]+[^\s#]/,
};

/** All the rules as one expression: the reference that the quick check below must never miss. */
export const ANY_RULE = new RegExp(
  Object.values(RULES)
    .map((r) => `(?:${r.source})`)
    .join('|'),
  'm',
);

// Characters (and words) without which most rules cannot match. Typical resources contain none of
// them, and a one-class scan is far cheaper than ANY_RULE's alternatives at every position.
const RARE = /[&*!|>?~\t#]|null|Null|NULL/;
// What remains possible without them: an empty key inside a flow collection.
const FLOW_EMPTY_KEY = /[[{,][ \t]*:(?:[ \t,\]}]|$)/m;

export function needsPreciseParse(text: string): boolean {
  if (RARE.test(text)) {
    if (ANY_RULE.test(text)) return true;
  } else if (FLOW_EMPTY_KEY.test(text) || lineStartRule(text)) {
    return true;
  }
  return hasMultilineQuote(text);
}

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const isBlank = (c: number) => c === SPACE || c === TAB || c === CR || c === LF || Number.isNaN(c);

/**
 * The rules anchored at a line's start, checked line by line for text without RARE characters: a lone
 * or doubled dash, an empty key, a collection key, a marker lookalike. Mirrors RULES above.
 */
function lineStartRule(text: string): boolean {
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (
      (text.startsWith('---', start) || text.startsWith('...', start)) &&
      !isBlank(text.charCodeAt(start + 3))
    )
      return true;
    let i = start;
    while (text.charCodeAt(i) === SPACE) i++;
    // Dashes of block sequences: "- - x" and a lone "-" are rules; "- key" goes on to the key.
    while (text.charCodeAt(i) === 0x2d && isBlank(text.charCodeAt(i + 1))) {
      i++;
      while (text.charCodeAt(i) === SPACE) i++;
      if (i >= end || text.charCodeAt(i) === CR) return true;
      if (text.charCodeAt(i) === 0x2d && isBlank(text.charCodeAt(i + 1))) return true;
    }
    const c = text.charCodeAt(i);
    if (c === 0x3a && isBlank(text.charCodeAt(i + 1))) return true; // ": x", an empty key
    if ((c === 0x5b || c === 0x7b) && /[\]}][ \t]*:(?:[ \t\r]|$)/.test(text.slice(i, end))) return true;
    start = end + 1;
  }
  return false;
}

/**
 * Whether a quoted scalar runs past the end of its line. js-yaml folds such scalars without checking
 * their continuation lines' indentation, where YAML (and `yaml`) refuse.
 */
function hasMultilineQuote(text: string): boolean {
  for (const span of quotedScalars(text)) if (span.multiline) return true;
  return false;
}
