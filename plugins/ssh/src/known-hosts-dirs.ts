import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Fail } from 'rmm/plugin';

/** The environment variable that names the folders (absolute, `:`-separated) known_hosts may be in. */
export const KNOWN_HOSTS_DIRS_ENV = 'RMM_KNOWN_HOSTS_DIRS';

/**
 * A knownHosts path that is outside every allowed folder. OpenSSH takes UserKnownHostsFile only from
 * the user's own config; in rmm it comes from YAML that anyone who opens a pull request writes, and
 * accept-new appends to it: without this, a device could make rmm append to `~/.bashrc` or
 * `authorized_keys`.
 */
export class KnownHostsPlaceError extends Error {
  override readonly name = 'KnownHostsPlaceError';
}

/**
 * The folders a known_hosts file may be in: `~/.ssh` (where OpenSSH keeps it) and the console's
 * RMM_KNOWN_HOSTS_DIRS, each resolved through its links. A relative entry is an error: the folder
 * would depend on where rmm was started.
 */
export function allowedKnownHostsDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = [path.join(os.homedir(), '.ssh')];
  for (const entry of (env[KNOWN_HOSTS_DIRS_ENV] ?? '').split(path.delimiter)) {
    if (entry === '') continue;
    if (!path.isAbsolute(entry))
      throw new KnownHostsPlaceError(
        `${KNOWN_HOSTS_DIRS_ENV} lists "${entry}", which is not an absolute path`,
      );
    dirs.push(entry);
  }
  return dirs.map(resolveThroughLinks);
}

/**
 * Why `file` may not be used as known_hosts, or undefined when its folder (through every link)
 * is one of the allowed folders or inside one.
 */
export function knownHostsPlaceProblem(
  file: string,
  written: string = file,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  // The kernel resolves `..` after the links before it, path.resolve before them: refused, not guessed.
  if (written.split(/[\\/]/).includes('..'))
    return `knownHosts "${written}" has a ".." in it: name the file by a path without one`;
  let allowed: string[];
  try {
    allowed = allowedKnownHostsDirs(env);
  } catch (error) {
    return (error as Error).message;
  }
  const folder = resolveThroughLinks(path.dirname(path.resolve(file)));
  if (allowed.some((dir) => folder === dir || folder.startsWith(dir + path.sep))) return undefined;
  return `knownHosts "${file}" is outside the folders a known_hosts file may be in (${allowed.join(', ')}); the console adds folders with ${KNOWN_HOSTS_DIRS_ENV}, YAML cannot`;
}

/** Throws KnownHostsPlaceError when `file` (as the options wrote it: `written`) may not be used as known_hosts (see knownHostsPlaceProblem). */
export function assertKnownHostsPlace(file: string, written?: string): void {
  const problem = knownHostsPlaceProblem(file, written);
  if (problem !== undefined) throw new KnownHostsPlaceError(problem);
}

/**
 * The real path of `dir`: the deepest part of it that exists resolved through its links, and the
 * rest (not created yet) appended. `..` is resolved first, as the kernel would after the links.
 */
function resolveThroughLinks(dir: string): string {
  const absolute = path.resolve(dir);
  const missing: string[] = [];
  let current = absolute;
  // Bounded by the path's depth: each step goes one folder up, and the root always exists.
  for (;;) {
    try {
      return path.join(realpathSync(current), ...missing.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return absolute;
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

/** A known_hosts file that may not be used, or could not be read, as a TransportError. */
export function knownHostsFailure(fail: Fail, where: string, error: unknown): Error {
  if (error instanceof KnownHostsPlaceError)
    return fail('protocol', `${where}: ${error.message}`, { cause: error });
  return fail('protocol', `${where}: cannot read known hosts: ${(error as Error).message}`, { cause: error });
}
