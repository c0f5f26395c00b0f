import { type DocumentChunk, type DocumentResult, diagnosticAt } from './check/check-document.js';
import {
  type Checker,
  inlineChecker,
  PARALLEL_THRESHOLD_BYTES,
  poolChecker,
  workerCount,
} from './check/pool.js';
import { compareDiagnostics, type Diagnostic } from './diagnostics/diagnostic.js';
import { locate } from './load/precise-parse.js';
import { listedBytes, listInputFiles, type ReadOptions, readInputs } from './load/read-sources.js';
import { splitDocuments } from './load/split-documents.js';
import { ReferenceIndex } from './resources/cross-references.js';
import type { Resource } from './resources/kinds.js';

export type { DocumentChunk };

export interface SourcedResource {
  resource: Resource;
  source: DocumentChunk;
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

/** Documents per batch sent to a worker: large enough to amortize messaging, small enough to balance. */
const BATCH_DOCUMENTS = 500;

/**
 * The whole check behind `rmm validate`: read the inputs, split them into documents, check each
 * document by itself (YAML, its kind's schema; on worker threads when the input is large), then the
 * rules across documents. Every problem is collected; none stops the run. Positions are computed
 * only for documents with problems.
 */
export async function validateInputs(
  inputs: readonly string[],
  options: ValidateOptions = {},
): Promise<ValidationResult> {
  const collect = options.collect ?? false;
  const diagnostics: Diagnostic[] = [];
  const batches: Array<{ chunks: DocumentChunk[]; results: Promise<DocumentResult[]> }> = [];
  const documentsPerFile = new Map<string, number>();
  const entries = await listInputFiles(inputs, options.recursive ?? false);
  // Worker threads take a while to start: decide from the files' sizes, before reading them, so they
  // start while the first files are read. Stdin's size is unknown; it is checked inline.
  const workers = workerCount();
  const checker: Checker =
    workers > 0 && listedBytes(entries) > PARALLEL_THRESHOLD_BYTES
      ? poolChecker(workers, collect)
      : inlineChecker(collect);
  let files = 0;
  try {
    for await (const source of readInputs(entries, options.stdin)) {
      files++;
      if ('diagnostic' in source) {
        diagnostics.push(source.diagnostic);
        continue;
      }
      documentsPerFile.set(source.file, 0);
      const chunks = splitDocuments(source.text).map((c) => ({
        file: source.file,
        text: c.text,
        firstLine: c.firstLine,
      }));
      for (let i = 0; i < chunks.length; i += BATCH_DOCUMENTS) {
        const batch = chunks.slice(i, i + BATCH_DOCUMENTS);
        batches.push({ chunks: batch, results: checker.check(batch) });
      }
    }

    const index = new ReferenceIndex<DocumentChunk>((chunk) => {
      const { line, column } = positionIn(chunk, ['metadata', 'name']);
      return `${chunk.file}:${line}:${column}`;
    });
    const resources: SourcedResource[] = [];
    let documents = 0;
    for (const batch of batches) {
      const results = await batch.results;
      results.forEach((result, i) => {
        const chunk = batch.chunks[i] as DocumentChunk;
        diagnostics.push(...result.diagnostics);
        if (result.empty) return;
        documents++;
        documentsPerFile.set(chunk.file, (documentsPerFile.get(chunk.file) ?? 0) + 1);
        if (result.refs) index.add(result.refs, chunk);
        if (result.resource && result.diagnostics.length === 0)
          resources.push({ resource: result.resource, source: chunk });
      });
    }
    for (const [file, count] of documentsPerFile) {
      if (count === 0) {
        diagnostics.push({
          severity: 'error',
          code: 'empty',
          file,
          line: 1,
          column: 1,
          message: 'no YAML documents in this file',
        });
      }
    }
    for (const problem of index.check()) {
      diagnostics.push(diagnosticAt(problem.ref, problem.kind, problem.name, { ...problem, at: 'value' }));
    }
    diagnostics.sort(compareDiagnostics);
    return { diagnostics, files, documents, resources: collect ? resources : [] };
  } finally {
    await checker.close();
  }
}

/** 1-based file position of a node in a document. */
function positionIn(chunk: DocumentChunk, path: Parameters<typeof locate>[1], at: 'key' | 'value' = 'value') {
  const { line, column } = locate(chunk.text, path, at);
  return { line: chunk.firstLine + line + 1, column: column + 1 };
}
