import jsyaml from 'js-yaml';
import { yaml12CoreSchema } from './core-schema.js';
import { needsPreciseParse } from './fast-path-rules.js';
import { mightNestDeeperThan, nestsDeeperThan } from './nesting-scan.js';
import { documentStart, MAX_DEPTH, type PreciseProblem, parsePrecise } from './precise-parse.js';

/** A single resource is a few hundred bytes; a 1 MiB document is a mistake or an attack. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

export type ParseResult = { ok: true; value: unknown } | { ok: false; problems: PreciseProblem[] };

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
  // Refused before either parser reads it: both take seconds and gigabytes on 1 MiB of `[[[`.
  if (mightNestDeeperThan(text, MAX_DEPTH) && nestsDeeperThan(text, MAX_DEPTH)) {
    return {
      ok: false,
      problems: [
        { code: 'nesting', message: `nesting deeper than ${MAX_DEPTH} levels`, ...documentStart(text) },
      ],
    };
  }
  let result: ParseResult;
  const viaPrecise = needsPreciseParse(text);
  if (viaPrecise) {
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
  const tooBig = result.ok && (viaPrecise || couldBeDeep(text)) ? shapeProblem(result.value) : undefined;
  if (tooBig) return { ok: false, problems: [{ code: 'nesting', message: tooBig, ...documentStart(text) }] };
  return result;
}

/**
 * Whether text without aliases could nest MAX_DEPTH levels: it takes that many brackets and levels
 * of indentation together (a block sequence may sit at its parent key's indentation, so a level can
 * cost as little as half a space). Cheap native string searches, so the full walk runs only when it
 * might matter; and a miss is harmless, since the kinds' schemas bound what is read further anyway.
 */
function couldBeDeep(text: string): boolean {
  let brackets = 0;
  for (const open of ['[', '{']) {
    for (let i = text.indexOf(open); i !== -1; i = text.indexOf(open, i + 1)) {
      if (++brackets >= MAX_DEPTH) return true;
    }
  }
  return text.includes(`\n${' '.repeat(Math.floor((MAX_DEPTH - brackets) / 2) - 1)}`);
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
