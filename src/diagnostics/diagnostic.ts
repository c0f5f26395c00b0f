/**
 * A problem found in user input. Loaders and validators return these instead of throwing, so one run
 * reports every problem at once. Positions are 1-based, as editors and compilers print them.
 */
export type DiagnosticCode =
  | 'io' // the file could not be read
  | 'encoding' // not UTF-8 text, or binary data
  | 'too-large' // a file or a document over its size limit
  | 'empty' // no documents at all
  | 'syntax' // YAML syntax, duplicate keys, unknown tags
  | 'aliases' // too many alias expansions
  | 'nesting' // nesting too deep
  | 'schema' // fails the kind's JSON Schema
  | 'secret' // looks like an inline secret
  | 'duplicate' // the same kind/name declared twice
  | 'reference' // names a site, group or policy that is not declared
  | 'cycle' // group parents form a cycle
  | 'conflict' // two policies tie for one monitored series of a device, or two overrides for one value
  | 'enforced' // an override of a monitor its policy enforces
  | 'scope' // a device joins a group scoped to another site
  | 'transport' // a transport plugin's own check of its options (checkOptions)
  | 'channel'; // a notification channel's lab-only setting (sends in clear, trusts any certificate)

export interface Diagnostic {
  severity: 'error' | 'warning';
  code: DiagnosticCode;
  file: string;
  line: number;
  column: number;
  /** The resource's kind and name when known. */
  kind?: string;
  name?: string;
  /** JSON Pointer to the offending value inside the document, when there is one. */
  pointer?: string;
  message: string;
}

/** Stable order for output: by file, then position. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column;
}

export function errorCount(diagnostics: readonly Diagnostic[]): number {
  return diagnostics.filter((d) => d.severity === 'error').length;
}

export type PathSegment = string | number;

export function toJsonPointer(path: readonly PathSegment[]): string {
  return path.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
