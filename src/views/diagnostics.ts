import { type Diagnostic, errorCount } from '../diagnostics/diagnostic.js';
import { styledDiagnostic } from '../diagnostics/render.js';
import { paint } from './color.js';

export interface ValidationSummary {
  files: number;
  documents: number;
  diagnostics: readonly Diagnostic[];
}

/** Human output of `rmm validate`: one line per problem, then a one-line verdict. */
export function renderValidation(result: ValidationSummary, color: boolean): string {
  const c = paint(color);
  const lines = result.diagnostics.map((d) =>
    styledDiagnostic(d, (message) => (d.severity === 'error' ? c('red', message) : message)),
  );
  const errors = errorCount(result.diagnostics);
  const scope = `${plural(result.documents, 'resource')} in ${plural(result.files, 'file')}`;
  lines.push(
    errors === 0
      ? c('green', `Valid: ${scope}.`)
      : c('red', `Invalid: ${plural(errors, 'error')} in ${scope}.`),
  );
  return lines.join('\n');
}

export function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}
