import type { Fields, FieldValue } from './resource-view.js';

/** One changed field, by its path of YAML names (and list indexes), with both values. */
export interface FieldChange {
  path: Array<string | number>;
  before: FieldValue | undefined;
  after: FieldValue | undefined;
}

/**
 * Field-level differences between two views. Maps are compared key by key and lists of equal length
 * item by item, so a changed custom field or monitor threshold shows as itself, not as a whole new
 * JSON string; lists that grew or shrank show whole.
 */
export function diffFields(before: Fields, after: Fields): FieldChange[] {
  const changes: FieldChange[] = [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) walk([key], before[key], after[key], changes);
  return changes;
}

function walk(
  path: Array<string | number>,
  a: FieldValue | undefined,
  b: FieldValue | undefined,
  out: FieldChange[],
): void {
  if (deepEqual(a, b)) return;
  if (isMap(a) && isMap(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)]))
      walk([...path, key], a[key], b[key], out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.some((item) => isMap(item))) {
    for (const [i, item] of a.entries()) walk([...path, i], item, b[i], out);
    return;
  }
  out.push({ path, before: a, after: b });
}

function isMap(value: FieldValue | undefined): value is { [key: string]: FieldValue } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Structural equality; key order of maps does not matter, list order does. */
export function deepEqual(a: FieldValue | undefined, b: FieldValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const bm = b as { [key: string]: FieldValue };
  return (
    ka.length === kb.length &&
    ka.every((k) => k in bm && deepEqual((a as { [key: string]: FieldValue })[k], bm[k]))
  );
}
