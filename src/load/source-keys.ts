import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ScopeEntry } from '../engine/apply-set.js';
import { STDIN_NAME } from './read-sources.js';

/**
 * The name apply records for the file that declared a resource (ManagedResources.SourceFile), and
 * the prune scope of `-f` inputs in the same terms. A checkout's place on disk differs between a
 * laptop and each CI job, so names are relative to the repository the file is in (the nearest
 * folder holding .git), else to the current directory, with forward slashes on every OS.
 */
export function sourceKeyer(cwd: string = process.cwd()): (file: string) => string {
  const rootOfDir = new Map<string, string>();
  const rootOf = (dir: string): string => {
    const known = rootOfDir.get(dir);
    if (known !== undefined) return known;
    const parent = path.dirname(dir);
    const root = existsSync(path.join(dir, '.git')) ? dir : parent === dir ? cwd : rootOf(parent);
    rootOfDir.set(dir, root);
    return root;
  };
  // One key per file, not per resource: a file of 100 devices asked 100 times (0.2 s per 100,000).
  const keyOfFile = new Map<string, string>();
  return (file: string) => {
    if (file === STDIN_NAME || file === '-') return STDIN_NAME;
    let key = keyOfFile.get(file);
    if (key === undefined) {
      const absolute = path.resolve(cwd, file);
      key = path.relative(rootOf(absolute), absolute).split(path.sep).join('/');
      keyOfFile.set(file, key);
    }
    return key;
  };
}

/**
 * The prune scope of the `-f` inputs: each file, and each folder (with -R, its subfolders too), as
 * source keys. An input that is not there is left out; reading it has already failed.
 */
export function pruneScopeOf(
  inputs: readonly string[],
  recursive: boolean,
  keyOf: (file: string) => string,
): ScopeEntry[] {
  const scope: ScopeEntry[] = [];
  for (const input of inputs) {
    if (input === '-') {
      scope.push({ key: STDIN_NAME, folder: false, recursive: false });
      continue;
    }
    let folder: boolean;
    try {
      folder = statSync(input).isDirectory();
    } catch {
      continue;
    }
    scope.push({ key: keyOf(input), folder, recursive: folder && recursive });
  }
  return scope;
}
