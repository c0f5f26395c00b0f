import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { toJsonPointer } from '../diagnostics/diagnostic.js';
import { viewOf } from '../engine/resource-view.js';
import { imageOf } from '../formats/row-image.js';
import { parseDocumentText } from '../load/parse-document.js';
import { type Locator, locator } from '../load/precise-parse.js';
import { shortName } from '../quote.js';
import type { DocumentProblem } from '../resources/ajv-messages.js';
import { type ResourceRefs, refsOf } from '../resources/cross-references.js';
import { isKind, type Kind } from '../resources/kinds.js';
import { findSecrets } from '../resources/secret-scan.js';
import { validateResource } from '../resources/validate-resource.js';

/**
 * Problems shown per document, in the order they appear; the rest are one line that counts them. A
 * document of thousands of unknown keys is a mistake that one screen of examples explains.
 */
export const MAX_DIAGNOSTICS_PER_DOCUMENT = 50;

/** A resource name the kind schemas accept (metadata.name). */
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** One YAML document of a file: its text and the line it starts on (0-based). */
export interface DocumentChunk {
  file: string;
  text: string;
  firstLine: number;
}

export interface DocumentResult {
  /** Problems of this document alone, with file positions. */
  diagnostics: Diagnostic[];
  /** True for an empty document (it parsed to null), which is skipped. */
  empty?: boolean;
  /** What the cross-reference checks need, when the document is a valid resource. */
  refs?: ResourceRefs;
  /** The resource as plan compares it, when asked for (plan and apply need it; validate does not). */
  declared?: DeclaredRecord;
}

/**
 * A valid resource reduced to what plan needs: its row image (formats/row-image imageOf). One
 * string instead of an object tree: cheap to send back from a worker and to keep for 100,000 devices.
 */
export interface DeclaredRecord {
  kind: Kind;
  name: string;
  image: string;
}

/**
 * Everything that can be checked in documents by themselves: YAML, their kind's schema, rules within
 * them, and inline secrets. Pure, so it runs the same inline or in a worker thread; async because
 * the secret rule set (secretlint) is, and it reads the whole batch at once (resources/secret-scan).
 * Batches run one at a time per thread: one waiting for secretlint holds its parsed documents, and
 * the 200 batches of a 100,000-document file, all started at once, held 1.5 GB.
 */
export function checkDocuments(
  chunks: readonly DocumentChunk[],
  collect: boolean,
): Promise<DocumentResult[]> {
  const run = previous.then(() => checkBatch(chunks, collect));
  previous = run.catch(() => undefined);
  return run;
}

let previous: Promise<unknown> = Promise.resolve();

async function checkBatch(chunks: readonly DocumentChunk[], collect: boolean): Promise<DocumentResult[]> {
  const checked = chunks.map((chunk) => checkOne(chunk, collect));
  const secrets = await findSecrets(checked.map(({ value, kind }) => ({ value, kind })));
  return checked.map(({ result, kind, name, locate }, i) => {
    const found = secrets[i] ?? [];
    if (found.length === 0) return { ...result, diagnostics: capDiagnostics(result.diagnostics) };
    // A secret is reported once, as a secret: no other message at its place, which might quote it.
    const chunk = chunks[i] as DocumentChunk;
    const shown = found.map((p) => diagnosticAt(chunk, kind, name, p, locate()));
    const at = new Set(shown.map((d) => d.pointer ?? ''));
    const others = result.diagnostics.filter((d) => !at.has(d.pointer ?? ''));
    return { ...result, diagnostics: capDiagnostics([...shown, ...others]) };
  });
}

interface Checked {
  result: DocumentResult;
  /** The parsed document, for the secret scan (undefined when it did not parse). */
  value?: unknown;
  kind?: string;
  name?: string;
  /** The document's locator, made once on first use. */
  locate: () => Locator;
}

function checkOne(chunk: DocumentChunk, collect: boolean): Checked {
  let located: Locator | undefined;
  const locate = () => {
    located ??= locator(chunk.text);
    return located;
  };
  const parsed = parseDocumentText(chunk.text);
  if (!parsed.ok) {
    return {
      locate,
      result: {
        diagnostics: parsed.problems.map((p) => ({
          severity: 'error',
          code: p.code,
          file: chunk.file,
          line: chunk.firstLine + p.line + 1,
          column: p.column + 1,
          message: p.message,
        })),
      },
    };
  }
  if (parsed.value === null || parsed.value === undefined)
    return { locate, result: { diagnostics: [], empty: true } };
  const check = validateResource(parsed.value);
  const diagnostics = check.problems.map((p) => diagnosticAt(chunk, check.kind, check.name, p, locate()));
  const found = { locate, value: parsed.value, kind: check.kind, name: check.name };
  if (!check.resource) {
    // Still declared for the cross-reference checks, so that one bad field is one error, not one
    // more "is not declared" for every resource that names it. Its own references are not checked.
    if (isKind(check.kind) && check.name !== undefined && NAME.test(check.name))
      return { ...found, result: { diagnostics, refs: { kind: check.kind, name: check.name } } };
    return { ...found, result: { diagnostics } };
  }
  const result: DocumentResult = { diagnostics, refs: refsOf(check.resource) };
  if (collect) {
    const view = viewOf(check.resource);
    result.declared = { kind: view.kind, name: view.name, image: imageOf(view.kind, view.fields) };
  }
  return { ...found, result };
}

export function diagnosticAt(
  chunk: DocumentChunk,
  kind: string | undefined,
  name: string | undefined,
  problem: DocumentProblem,
  locate: Locator = locator(chunk.text),
): Diagnostic {
  const { line, column } = locate(problem.path, problem.at);
  const diagnostic: Diagnostic = {
    severity: problem.severity ?? 'error',
    code: problem.code,
    file: chunk.file,
    line: chunk.firstLine + line + 1,
    column: column + 1,
    message: problem.message,
  };
  if (kind !== undefined) diagnostic.kind = shortName(kind);
  if (name !== undefined) diagnostic.name = shortName(name);
  if (problem.path.length > 0) diagnostic.pointer = toJsonPointer(problem.path);
  return diagnostic;
}

/**
 * One document's diagnostics in position order, at most MAX_DIAGNOSTICS_PER_DOCUMENT of them; the
 * rest become one line where the first of them is, counting them (an error if any of them is).
 */
export function capDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  if (diagnostics.length <= MAX_DIAGNOSTICS_PER_DOCUMENT) return diagnostics;
  const sorted = [...diagnostics].sort((a, b) => a.line - b.line || a.column - b.column);
  const rest = sorted.slice(MAX_DIAGNOSTICS_PER_DOCUMENT);
  const first = rest[0] as Diagnostic;
  const summary: Diagnostic = {
    severity: rest.some((d) => d.severity === 'error') ? 'error' : 'warning',
    code: first.code,
    file: first.file,
    line: first.line,
    column: first.column,
    message: `... and ${rest.length} more problems in this document`,
  };
  if (first.kind !== undefined) summary.kind = first.kind;
  if (first.name !== undefined) summary.name = first.name;
  return [...sorted.slice(0, MAX_DIAGNOSTICS_PER_DOCUMENT), summary];
}
