import { printable } from '../printable.js';
import type { Diagnostic } from './diagnostic.js';

/** `FILE:LINE:COLUMN: Kind/name: message`, the form compilers use, so editors and CI link it. */
export function formatDiagnostic(d: Diagnostic): string {
  return styledDiagnostic(d, (message) => message);
}

/**
 * The same, with the message styled (colored). File names, kinds, names and messages (which quote
 * keys and values) come from the input, so each is escaped (src/printable.ts) before styling: one
 * diagnostic is one line, without control sequences.
 */
export function styledDiagnostic(d: Diagnostic, style: (message: string) => string): string {
  const subject = d.kind || d.name ? `${printable(d.kind ?? '?')}/${printable(d.name ?? '?')}: ` : '';
  const prefix = d.severity === 'warning' ? 'warning: ' : '';
  return `${printable(d.file)}:${d.line}:${d.column}: ${subject}${prefix}${style(printable(d.message))}`;
}
