import type { PathSegment } from '../diagnostics/diagnostic.js';
import { durationSeconds } from '../duration.js';
import type { DocumentProblem } from './ajv-messages.js';

/** A duration outside [min, max] seconds, at its value (the schema has checked its form). */
export function durationRange(
  text: string | undefined,
  path: PathSegment[],
  min: number,
  max: number,
): DocumentProblem[] {
  if (text === undefined) return [];
  const seconds = durationSeconds(text);
  if (seconds === undefined || (seconds >= min && seconds <= max)) return [];
  return [{ code: 'schema', path, at: 'value', message: `must be from ${words(min)} to ${words(max)}` }];
}

function words(seconds: number): string {
  if (seconds === 0) return '0s';
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
