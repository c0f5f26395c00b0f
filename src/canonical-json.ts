/**
 * JSON whose text is a function of the value's content only: object keys sorted at every depth,
 * arrays in their order (which is content). Whatever is hashed or compared as JSON goes through it:
 * an object built from a Map, from hooks' results or from a parsed file carries the order in which
 * it was filled, and that order once split the check cache in two. It hashes the database schema
 * too (state/declared-schema-model.ts), whose hash databases record, so its text must never change.
 */
export function canonicalJson(value: unknown): string {
  // As JSON.stringify: undefined (and functions) are dropped from objects and null in arrays.
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v) ?? 'null').join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && typeof v !== 'function')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
