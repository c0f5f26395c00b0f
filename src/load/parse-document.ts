import jsyaml from 'js-yaml';
import { yaml12CoreSchema } from './core-schema.js';
import { type PreciseProblem, parsePrecise, problemFromThrow } from './precise-parse.js';

/** A single resource is a few hundred bytes; a 1 MiB document is a mistake or an attack. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** Resource kinds nest about eight levels deep; far deeper input is hostile. */
export const MAX_DEPTH = 64;

export type ParseResult = { ok: true; value: unknown } | { ok: false; problems: PreciseProblem[] };

// An anchor (&a) or alias (*a) where a node can start. It may match inside a string too; then the
// document just takes the precise path, which expands aliases under a limit.
const ANCHOR_OR_ALIAS = /(?:^|[\s[{,:-])[&*][^\s,[\]{}]/;

/**
 * Parses one document. The fast path (js-yaml, same value resolution as `yaml`) takes valid input;
 * anything it rejects, and anything with anchors or aliases, is read again by `yaml`, which gives
 * positions and bounds alias expansion. Both paths reach the same value and the same verdict
 * (test/load/parser-parity.test.ts).
 */
export function parseDocumentText(text: string): ParseResult {
  if (text.length > MAX_DOCUMENT_BYTES) {
    return {
      ok: false,
      problems: [
        {
          code: 'syntax',
          message: `document is ${formatSize(text.length)}, over the limit of ${formatSize(MAX_DOCUMENT_BYTES)} for one resource`,
          line: 0,
          column: 0,
        },
      ],
    };
  }
  let result: ParseResult;
  if (ANCHOR_OR_ALIAS.test(text)) {
    result = parsePrecise(text);
  } else {
    try {
      result = { ok: true, value: jsyaml.load(text, { schema: yaml12CoreSchema }) };
    } catch (error) {
      result = parsePrecise(text);
      if (result.ok) result = { ok: false, problems: [fastProblem(error)] };
    }
  }
  const tooBig = result.ok ? shapeProblem(result.value) : undefined;
  if (tooBig) return { ok: false, problems: [{ code: 'nesting', message: tooBig, line: 0, column: 0 }] };
  return result;
}

/** Only reached if js-yaml rejects what yaml accepts; the parity test keeps this path cold. */
function fastProblem(error: unknown): PreciseProblem {
  if (error instanceof jsyaml.YAMLException) {
    return { code: 'syntax', message: error.reason, line: error.mark?.line ?? 0, column: error.mark?.column ?? 0 };
  }
  return problemFromThrow(error);
}

/** Nodes in one document after alias expansion: far above any real resource. */
const MAX_NODES = 100_000;

/** Why a parsed value is too deep or too large to process safely, if it is. */
function shapeProblem(value: unknown): string | undefined {
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
