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
  emptySequenceEntry: /^[ \t]*-[ \t]*$/,
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
};

// One pass over the text instead of one per rule (measured: a quarter less time on 100,000 devices).
const ANY_RULE = new RegExp(
  Object.values(RULES)
    .map((r) => `(?:${r.source})`)
    .join('|'),
  'm',
);

export function needsPreciseParse(text: string): boolean {
  return ANY_RULE.test(text) || hasMultilineQuote(text);
}

/**
 * Whether a quoted scalar runs past the end of its line. js-yaml folds such scalars without checking
 * their continuation lines' indentation, where YAML (and `yaml`) refuse.
 */
function hasMultilineQuote(text: string): boolean {
  for (const span of quotedScalars(text)) if (span.multiline) return true;
  return false;
}
