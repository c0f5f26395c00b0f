import { lstatSync, mkdirSync, renameSync, rmSync, type Stats, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { displayPath } from './display-path.js';

/**
 * The data directory holds command output, the audit trail and the inventory, so rmm keeps it private
 * as OpenSSH keeps ~/.ssh: folders it makes are 0700, files 0600, and a looser data directory that
 * already exists is reported (never refused: an owner may grant a group read access on purpose,
 * docs/security.md). Under it, rmm never follows a symbolic link where it writes or removes: a linked
 * cache folder once made every command empty the link's target.
 */
export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

const warned = new Set<string>();
const checkedDirs = new Set<string>();

/** One line on stderr, once per process: several steps of one command look at the same paths. */
function warnOnce(line: string): void {
  if (warned.has(line)) return;
  warned.add(line);
  process.stderr.write(`warning: ${line}\n`);
}

function mode(info: Stats): string {
  return (info.mode & 0o777).toString(8).padStart(4, '0');
}

/**
 * Says, to the user who owns the data directory (or root), when other users may enter it, naming the
 * files they can then read. Group access is left alone: it is how read access is granted on purpose.
 * A reader whom the owner let in cannot change the modes, so they are not told. Looked at once per
 * process, before the command's own connection made a -wal and -shm (which take devices.db's mode).
 */
export function warnIfOthersCanRead(dataDir: string): void {
  if (checkedDirs.has(dataDir)) return;
  checkedDirs.add(dataDir);
  let info: Stats;
  try {
    info = statSync(dataDir);
  } catch {
    return; // missing or unreachable: the checks that need it say so
  }
  const uid = process.getuid?.();
  if (uid === undefined || (uid !== 0 && uid !== info.uid) || (info.mode & 0o007) === 0) return;
  const open: string[] = [];
  for (const name of ['devices.db', 'plan.key']) {
    try {
      const file = lstatSync(path.join(dataDir, name));
      if (file.isFile() && (file.mode & 0o004) !== 0) open.push(`${name} ${mode(file)}`);
    } catch {
      // not there
    }
  }
  const files = open.length > 0 ? ` (readable by them: ${open.join(', ')})` : '';
  warnOnce(
    `other users can enter the data directory ${displayPath(dataDir)} (mode ${mode(info)})${files}; make it private with: chmod 700 ${displayPath(dataDir)}`,
  );
}

/**
 * The folder `name` of the cache (data/cache/name) when rmm may use it: a real directory, made 0700
 * (with cache/ itself) when missing and `create` is set. A symbolic link, at cache/ or at the folder, is ignored with one
 * warning: rmm would read, write and clean up in its target. Undefined means "no cache": a miss.
 */
export function cacheFolder(cacheDir: string, name: string, create: boolean): string | undefined {
  const dir = path.join(cacheDir, name);
  return privateFolder(cacheDir, create) && privateFolder(dir, create) ? dir : undefined;
}

/**
 * `<dataDir>/<...names>`, each level a real directory made 0700 when missing: a folder a component
 * keeps state of its own in (a queued transport's `transports/<name>/`). Throws, naming the folder,
 * when one level is a link, not a directory, or cannot be made.
 */
export function privateDataFolder(dataDir: string, ...names: string[]): string {
  let dir = dataDir;
  for (const name of names) {
    dir = path.join(dir, name);
    if (!privateFolder(dir, true))
      throw new Error(
        `${displayPath(dir)} is not a folder rmm may use: a link, not a directory, or it cannot be made`,
      );
  }
  return dir;
}

/** `dir` is a real directory, or was just made one (0700) when missing and `create` is set. */
function privateFolder(dir: string, create: boolean): boolean {
  let info: Stats;
  try {
    info = lstatSync(dir);
  } catch {
    if (!create) return false;
    try {
      mkdirSync(dir, { mode: PRIVATE_DIR });
      return true;
    } catch {
      return false; // a read-only data directory only means no cache
    }
  }
  return usable(dir, info);
}

/** The data directory's cache/ (or another of its folders): a directory, not a link to one. */
export function realDirectory(dir: string): boolean {
  try {
    return usable(dir, lstatSync(dir));
  } catch {
    return false;
  }
}

function usable(dir: string, info: Stats): boolean {
  if (info.isDirectory()) return true;
  const what = info.isSymbolicLink() ? 'a symbolic link' : 'not a directory';
  warnOnce(
    `ignoring ${displayPath(dir)}: it is ${what}, and rmm never follows links in its data directory; remove it (rm ${displayPath(dir)}) and rmm makes a folder of its own`,
  );
  return false;
}

/**
 * Writes `file` whole, mode 0600, through a temporary file beside it that must not exist yet (a link
 * planted under that name is never followed), then renamed over it: a reader never sees half of it.
 */
export function replacePrivateFile(file: string, data: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, data, { flag: 'wx', mode: PRIVATE_FILE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Left by an earlier run with this pid, or planted: removed (a link itself, never its target).
    rmSync(temp, { force: true });
    writeFileSync(temp, data, { flag: 'wx', mode: PRIVATE_FILE });
  }
  renameSync(temp, file);
}
