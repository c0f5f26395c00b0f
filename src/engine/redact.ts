import type { Kind } from '../resources/kinds.js';
import { type SensitivePath, sensitiveFieldPaths } from '../resources/sensitive-fields.js';
import type { FieldChange } from './field-diff.js';
import type { Fields, FieldValue } from './resource-view.js';

/** What a sensitive value is shown as, wherever rmm shows one (plans, JSON, apply events). */
export const SENSITIVE = '(sensitive)';

export type SensitivePaths = Readonly<Record<Kind, readonly SensitivePath[]>>;

/**
 * Field changes fit to show: every value under a field the schemas mark `x-sensitive` becomes
 * "(sensitive)", whether the change is at that field (transport.credentialRef), above it (a whole
 * transport block) or below it. Unset values (null, absent) stay as they are: they reveal nothing and
 * show that a reference was added or removed. Only for display: apply writes `change.desired`.
 */
export function redactFieldChanges(
  kind: Kind,
  changes: readonly FieldChange[],
  paths: SensitivePaths = sensitiveFieldPaths(),
): FieldChange[] {
  const sensitive = paths[kind];
  if (sensitive.length === 0) return [...changes];
  return changes.map((change) => {
    let { before, after } = change;
    for (const path of sensitive) {
      if (!prefixMatches(path, change.path) && !prefixMatches(change.path, path)) continue;
      const rest = path.slice(change.path.length);
      before = maskAt(before, rest);
      after = maskAt(after, rest);
    }
    return before === change.before && after === change.after ? change : { ...change, before, after };
  });
}

/** A resource's whole fields (a plan's desired state) with its sensitive values masked. */
export function redactFields(
  kind: Kind,
  fields: Fields,
  paths: SensitivePaths = sensitiveFieldPaths(),
): Fields {
  let out: FieldValue = fields;
  for (const path of paths[kind]) out = maskAt(out, path) ?? null;
  return out as Fields;
}

/** Whether `prefix` names `path` or a field above it ('*' on either side matches any segment). */
function prefixMatches(prefix: readonly (string | number)[], path: readonly (string | number)[]): boolean {
  if (prefix.length > path.length) return false;
  return prefix.every((p, i) => p === '*' || path[i] === '*' || String(p) === String(path[i]));
}

/** The value with what lies at `rest` below it masked; unchanged parts are shared, not copied. */
function maskAt(value: FieldValue | undefined, rest: readonly string[]): FieldValue | undefined {
  if (value === undefined || value === null) return value;
  const [head, ...tail] = rest;
  if (head === undefined) return SENSITIVE;
  if (Array.isArray(value)) {
    if (head !== '*') return value;
    return value.map((item) => maskAt(item, tail) ?? null);
  }
  if (typeof value !== 'object') return value;
  const keys = head === '*' ? Object.keys(value) : Object.hasOwn(value, head) ? [head] : [];
  if (keys.length === 0) return value;
  const copy = { ...value };
  for (const key of keys) copy[key] = maskAt(copy[key], tail) ?? null;
  return copy;
}
