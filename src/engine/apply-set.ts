import { RmmError } from '../errors.js';

/**
 * Apply sets (docs/apply-sets.md). Every resource rmm applies remembers the apply set that applied
 * it and the file that declared it. A set is the unit of ownership: one repository, or one team,
 * applying to a console (`--apply-set`, `$RMM_APPLY_SET`, else "default"). Within a set, prune is
 * scoped by files: it removes only members whose recorded file is one of the `-f` inputs (or lies
 * in a folder given), so applying one site's files never destroys what other files declared.
 */
export const DEFAULT_APPLY_SET = 'default';

const SET_NAME = /^[a-z0-9]([-a-z0-9._]{0,61}[a-z0-9])?$/;

/** The apply set from --apply-set, else RMM_APPLY_SET, else the default; a bad name is a usage error. */
export function resolveApplySet(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const name = flag ?? env.RMM_APPLY_SET ?? DEFAULT_APPLY_SET;
  if (!SET_NAME.test(name)) {
    const from = flag !== undefined ? '--apply-set' : 'RMM_APPLY_SET';
    throw new RmmError('usage', `${from} ${JSON.stringify(name)} is not an apply set name`, {
      details: ['lowercase letters, digits, and - . _ inside; at most 63 characters; for example site-alpha'],
    });
  }
  return name;
}

/** One `-f` input as a prune scope entry: a file, or a folder (and, with -R, its subfolders). */
export interface ScopeEntry {
  /** The source key of the file or folder ('' for a repository's root folder). */
  key: string;
  folder: boolean;
  recursive: boolean;
}

/** Who owns a managed resource: the set that applied it and the file that declared it (null: not recorded). */
export interface Owner {
  set: string | null;
  source: string | null;
}

/** The apply being planned: its set, and the files whose members it may prune. */
export interface ApplyScope {
  set: string;
  prune: readonly ScopeEntry[];
}

/** Whether a source recorded for a resource lies within the scope of the inputs given. */
export function inScope(scope: readonly ScopeEntry[], source: string): boolean {
  return scope.some((entry) => {
    if (!entry.folder) return entry.key === source;
    if (source.startsWith('../') || source.startsWith('/')) return false;
    const prefix = entry.key === '' ? '' : `${entry.key}/`;
    if (!source.startsWith(prefix)) return false;
    return entry.recursive || !source.slice(prefix.length).includes('/');
  });
}

/** The scope as the plan names it: "sites/alpha.yaml, devices/ (and below)". */
export function describeScope(scope: readonly ScopeEntry[]): string {
  if (scope.length === 0) return '(no files)';
  return scope
    .map((e) => (e.folder ? `${e.key === '' ? '.' : e.key}/${e.recursive ? ' (and below)' : ''}` : e.key))
    .join(', ');
}
