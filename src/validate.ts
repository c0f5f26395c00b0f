import {
  compareDiagnostics,
  type Diagnostic,
  type PathSegment,
  toJsonPointer,
} from './diagnostics/diagnostic.js';
import { type LoadedDocument, loadDocuments } from './load/load-documents.js';
import { locate } from './load/precise-parse.js';
import type { ReadOptions } from './load/read-sources.js';
import type { DocumentProblem } from './resources/ajv-messages.js';
import { ReferenceIndex } from './resources/cross-references.js';
import type { Resource } from './resources/kinds.js';
import { validateResource } from './resources/validate-resource.js';

/** Where a document came from: enough to find a position in it when a diagnostic needs one. */
export type DocumentSource = Omit<LoadedDocument, 'value'>;

export interface SourcedResource {
  resource: Resource;
  source: DocumentSource;
}

export interface ValidationResult {
  diagnostics: Diagnostic[];
  files: number;
  documents: number;
  /** Valid resources, in input order; filled only with `collect: true`. */
  resources: SourcedResource[];
}

export interface ValidateOptions extends ReadOptions {
  /** Keep the valid resources (plan and apply need them; validate does not). */
  collect?: boolean;
}

/**
 * The whole check behind `rmm validate`: load, validate each document against its kind's schema,
 * then the cross-reference rules. Every problem is collected; none stops the run. Positions are
 * computed only for the documents that have problems.
 */
export async function validateInputs(
  inputs: readonly string[],
  options: ValidateOptions = {},
): Promise<ValidationResult> {
  const diagnostics: Diagnostic[] = [];
  const resources: SourcedResource[] = [];
  const index = new ReferenceIndex<DocumentSource>((source) => {
    const { line, column } = positionIn(source, ['metadata', 'name'], 'value');
    return `${source.file}:${line}:${column}`;
  });
  const summary = { files: 0 };
  let documents = 0;
  for await (const event of loadDocuments(inputs, options, summary)) {
    if ('diagnostic' in event) {
      diagnostics.push(event.diagnostic);
      continue;
    }
    documents++;
    const { value, ...source } = event.document;
    const check = validateResource(value);
    for (const problem of check.problems)
      diagnostics.push(toDiagnostic(source, check.kind, check.name, problem));
    if (!check.resource) continue;
    index.add(check.resource, source);
    if (options.collect) resources.push({ resource: check.resource, source });
  }
  for (const problem of index.check()) {
    diagnostics.push(toDiagnostic(problem.ref, problem.kind, problem.name, { ...problem, at: 'value' }));
  }
  diagnostics.sort(compareDiagnostics);
  return { diagnostics, files: summary.files, documents, resources };
}

function toDiagnostic(
  source: DocumentSource,
  kind: string | undefined,
  name: string | undefined,
  problem: DocumentProblem,
): Diagnostic {
  const { line, column } = positionIn(source, problem.path, problem.at);
  const diagnostic: Diagnostic = {
    severity: 'error',
    code: problem.code,
    file: source.file,
    line,
    column,
    message: problem.message,
  };
  if (kind !== undefined) diagnostic.kind = kind;
  if (name !== undefined) diagnostic.name = name;
  if (problem.path.length > 0) diagnostic.pointer = toJsonPointer(problem.path);
  return diagnostic;
}

/** 1-based file position of a node in a document. */
export function positionIn(source: DocumentSource, path: readonly PathSegment[], at: 'key' | 'value') {
  const { line, column } = locate(source.text, path, at);
  return { line: source.firstLine + line + 1, column: column + 1 };
}
