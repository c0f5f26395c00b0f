import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { parseDocumentText } from './parse-document.js';
import { listInputFiles, type ReadOptions, readSource, type Source } from './read-sources.js';
import { splitDocuments } from './split-documents.js';

/** One parsed YAML document, with what it takes to find positions in it later. */
export interface LoadedDocument {
  file: string;
  /** The document's own text (a slice of the file) and its first line in the file, 0-based. */
  text: string;
  firstLine: number;
  value: unknown;
}

export type LoadEvent = { document: LoadedDocument } | { diagnostic: Diagnostic };

export interface LoadSummary {
  files: number;
}

/**
 * Files, directories and stdin to documents, streamed: a caller that drops each document after use
 * holds one file's text at a time, not the whole input. The next file is read while this one parses.
 */
export async function* loadDocuments(
  inputs: readonly string[],
  options: ReadOptions = {},
  summary: LoadSummary = { files: 0 },
): AsyncGenerator<LoadEvent> {
  const entries = await listInputFiles(inputs, options.recursive ?? false);
  const read = (i: number): Promise<Source> | undefined => {
    const entry = entries[i];
    if (entry === undefined) return undefined;
    return typeof entry === 'string' ? readSource(entry, options.stdin) : Promise.resolve(entry);
  };
  let next = read(0);
  for (let i = 0; next; i++) {
    const source = await next;
    next = read(i + 1);
    summary.files++;
    if ('diagnostic' in source) {
      yield { diagnostic: source.diagnostic };
      continue;
    }
    yield* documentsOf(source.file, source.text);
  }
}

/** The documents of one file's text; empty documents are skipped, a file with none is an error. */
export function* documentsOf(file: string, text: string): Generator<LoadEvent> {
  let found = 0;
  for (const chunk of splitDocuments(text)) {
    const result = parseDocumentText(chunk.text);
    found++;
    if (!result.ok) {
      for (const p of result.problems) {
        yield {
          diagnostic: {
            severity: 'error',
            code: p.code,
            file,
            line: chunk.firstLine + p.line + 1,
            column: p.column + 1,
            message: p.message,
          },
        };
      }
      continue;
    }
    if (result.value === null || result.value === undefined) {
      found--;
      continue;
    }
    yield { document: { file, text: chunk.text, firstLine: chunk.firstLine, value: result.value } };
  }
  if (found === 0) {
    yield {
      diagnostic: {
        severity: 'error',
        code: 'empty',
        file,
        line: 1,
        column: 1,
        message: 'no YAML documents in this file',
      },
    };
  }
}
