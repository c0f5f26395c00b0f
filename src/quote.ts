import { secretShapeOf } from './resources/secret-patterns.js';

/** The most characters of a user's value a message shows: a 1 MB key is one line, not a megabyte. */
export const QUOTE_LIMIT = 80;

/**
 * A user's value as every message quotes it, the one place that does: JSON-quoted (so spaces, quotes
 * and line breaks show), cut to QUOTE_LIMIT characters with an ellipsis and the full length, and not
 * shown at all when it looks like a secret (a message is printed, logged and pasted into tickets).
 */
export function quote(value: string): string {
  if (secretShapeOf(value) !== undefined) return '(a value that looks like a secret, not shown)';
  if (value.length <= QUOTE_LIMIT) return JSON.stringify(value);
  return `${JSON.stringify(cut(value))} (${value.length} characters)`;
}

/**
 * A name shown as it is, unquoted (a diagnostic's Kind/name): cut like a quoted value, and never a
 * secret's shape.
 */
export function shortName(name: string): string {
  if (secretShapeOf(name) !== undefined) return '(hidden)';
  return name.length <= QUOTE_LIMIT ? name : cut(name);
}

/** The first QUOTE_LIMIT - 1 characters and an ellipsis, cut at a code point (not in a surrogate pair). */
function cut(value: string): string {
  return `${Array.from(value.slice(0, QUOTE_LIMIT + 1))
    .slice(0, QUOTE_LIMIT - 1)
    .join('')}…`;
}

/** Any value as messages name it: strings quoted as above, other scalars as written, collections by kind. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return quote(value);
  return `${typeof value} ${String(value)}`;
}

/** A message from a library that may quote the input (yaml's): cut to a readable line. */
export function cutMessage(message: string, limit = 4 * QUOTE_LIMIT): string {
  return message.length <= limit ? message : `${message.slice(0, limit - 1)}… (cut)`;
}
