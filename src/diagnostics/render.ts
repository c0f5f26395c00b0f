import type { Diagnostic } from './diagnostic.js';

/** `FILE:LINE:COLUMN: Kind/name: message`, the form compilers use, so editors and CI link it. */
export function formatDiagnostic(d: Diagnostic): string {
  const subject = d.kind || d.name ? `${d.kind ?? '?'}/${d.name ?? '?'}: ` : '';
  const prefix = d.severity === 'warning' ? 'warning: ' : '';
  return `${d.file}:${d.line}:${d.column}: ${subject}${prefix}${d.message}`;
}
