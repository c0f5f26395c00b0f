import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { cacheSalt } from '../cache-salt.js';
import { cacheFolder, replacePrivateFile } from '../private-files.js';
import type { DocumentResult } from './check-document.js';
import { decodeResult, encodeResult } from './result-lines.js';

/**
 * The warm tier put to use: the check results of a file whose every document was valid, stored under
 * data/cache/check/ and keyed by a hash of the file's text, the rmm version and the kind schemas.
 * A plan over 1,000 files where ten changed parses only those ten. A key covers everything the
 * results depend on (see cacheSalt), so an entry is never stale, only old: entries expire after 24 hours (the seed's
 * warm tier) and are removed when a run writes new ones. A linked check/ folder is no cache at all,
 * and entries are written 0600 without following links (private-files.ts).
 */
export interface ResultCache {
  /**
   * A guess, from sizes and modification times alone, of how many bytes of these files will miss:
   * it decides whether worker threads start before the files are even read. Never used for results.
   */
  likelyMissBytes(files: ReadonlyArray<{ file: string; size: number; mtimeMs: number }>): number;
  /** The results of a file with exactly this text, if cached. */
  get(text: string, file?: string): DocumentResult[] | undefined;
  /** Remembers the results of a file with no problems. */
  set(text: string, results: DocumentResult[], file?: string): void;
  /** Writes the new entries and removes expired ones. */
  flush(): void;
  /** Files found (hits) and not found (misses) by get so far: what the benchmark shows per run. */
  counts(): { hits: number; misses: number };
}

/** Bump when the shape of DocumentResult, the row image or a check changes within one version. */
const CACHE_FORMAT = 2;
const TTL_MS = 24 * 60 * 60 * 1000;
const ENTRY = /^[0-9a-f]{64}\.json$/;

export function resultCache(cacheDir: string, extraSalt = ''): ResultCache {
  // Looked up once, made only when there is something to write.
  let dir = cacheFolder(cacheDir, 'check', false);
  // extraSalt: what else results depend on, such as the installed transports' option schemas.
  const salt = `rmm-check-cache ${CACHE_FORMAT}\0${cacheSalt()}\0${extraSalt}`;
  const fresh = new Map<string, DocumentResult[]>();
  // Files seen valid in this run (hits and new entries), for the next run's guess.
  const seen = new Set<string>();
  const INDEX = 'seen.json';
  // Read once: the guess before reading the inputs and the update after both use it.
  let index: Record<string, string> | undefined;
  const readIndex = () => {
    if (!index) {
      try {
        if (!dir) throw new Error('no cache folder');
        index = JSON.parse(readFileSync(path.join(dir, INDEX), 'utf8')) as Record<string, string>;
      } catch {
        index = {}; // none yet, or unreadable: no guess to go on, every file may miss
      }
    }
    return index;
  };
  let hits = 0;
  let misses = 0;
  const keyOf = (text: string) => createHash('sha256').update(salt).update(text).digest('hex');
  const fileOf = (folder: string, key: string) => path.join(folder, `${key}.json`);
  return {
    likelyMissBytes(files) {
      const index = readIndex();
      return files.reduce((sum, f) => (index[path.resolve(f.file)] === stamp(f) ? sum : sum + f.size), 0);
    },
    get(text, source) {
      const results = dir ? read(fileOf(dir, keyOf(text))) : undefined;
      if (results) hits++;
      else misses++;
      if (results && source) seen.add(path.resolve(source));
      return results;
    },
    set(text, results, source) {
      fresh.set(keyOf(text), results);
      if (source) seen.add(path.resolve(source));
    },
    flush() {
      if (seen.size === 0 && fresh.size === 0) return;
      dir ??= cacheFolder(cacheDir, 'check', true);
      const folder = dir;
      if (!folder) return;
      if (seen.size > 0) writeIndex(path.join(folder, INDEX), readIndex(), seen);
      if (fresh.size === 0) return;
      try {
        // Written whole then renamed, so a reader never sees half an entry.
        for (const [key, results] of fresh) replacePrivateFile(fileOf(folder, key), encode(results));
        removeExpired(folder);
      } catch {
        // A cache that cannot be written only costs speed; the command's result does not depend on it.
      }
      fresh.clear();
    },
    counts: () => ({ hits, misses }),
  };
}

/** An entry's results, or undefined when it is missing, expired, unreadable or torn (a miss). */
function read(file: string): DocumentResult[] | undefined {
  try {
    if (Date.now() - statSync(file).mtimeMs > TTL_MS) return undefined;
    return decode(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // the file is checked as if never seen
  }
}

/** A header line, then one line per document (check/result-lines), only for files without problems. */
const HEADER = `rmm-check-cache ${CACHE_FORMAT}`;

function encode(results: DocumentResult[]): string {
  return `${[HEADER, ...results.map(encodeResult)].join('\n')}\n`;
}

function decode(text: string): DocumentResult[] | undefined {
  const lines = text.split('\n');
  if (lines[0] !== HEADER || lines.at(-1) !== '') return undefined;
  const results: DocumentResult[] = [];
  for (let i = 1; i < lines.length - 1; i++) {
    const line = lines[i] as string;
    // Only clean results are ever stored; anything else means the entry is not ours.
    const result = line.startsWith('{') ? undefined : decodeResult(line);
    if (!result) return undefined;
    results.push(result);
  }
  return results;
}

function stamp(f: { size: number; mtimeMs: number }): string {
  return `${f.size}:${f.mtimeMs}`;
}

/** Records the size and time of the files seen valid, merged into what earlier runs recorded. */
function writeIndex(indexFile: string, index: Record<string, string>, seen: Set<string>): void {
  try {
    for (const file of seen) {
      try {
        index[file] = stamp(statSync(file));
      } catch {
        delete index[file];
      }
    }
    replacePrivateFile(indexFile, JSON.stringify(index));
  } catch {
    // Only the next run's guess suffers.
  }
}

function removeExpired(dir: string): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (!ENTRY.test(name)) continue;
    const file = path.join(dir, name);
    try {
      // lstat: a link's own age, and removing it removes the link, never its target.
      if (now - lstatSync(file).mtimeMs > TTL_MS) rmSync(file, { force: true });
    } catch {
      // Removed by another run meanwhile.
    }
  }
}

/**
 * What every entry depends on besides the file's text: the rmm version, the kind schemas, and rmm's
 * own code (a few hundred KB, hashed in milliseconds), so even a rebuild without a version bump
 * never reads results an older check produced.
 */
