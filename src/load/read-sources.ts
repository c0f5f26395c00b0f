import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { formatSize } from './parse-document.js';
import { utf16Message, utf16Of } from './utf16.js';

/** One input file's text, or the reason it has none. `file` is the name shown in diagnostics. */
export type Source = { file: string; text: string } | { file: string; diagnostic: Diagnostic };

/** Over V8's practical string limit a file cannot be read as text at all. */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
export const STDIN_NAME = '<stdin>';
const YAML_FILE = /\.ya?ml$/i;

export interface ReadOptions {
  recursive?: boolean;
  stdin?: Readable;
}

/** The files behind `-f` arguments, in a stable order: directories sorted, hidden entries skipped. */
export async function listInputFiles(
  inputs: readonly string[],
  recursive: boolean,
): Promise<Array<string | Source>> {
  const out: Array<string | Source> = [];
  for (const input of inputs) {
    if (input === '-') {
      out.push(STDIN_NAME);
      continue;
    }
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(input);
    } catch (error) {
      out.push(failed(input, 'io', describeIoError(error)));
      continue;
    }
    if (!info.isDirectory()) {
      out.push(input);
      continue;
    }
    const { files, subdirectories } = await walk(input, recursive);
    if (files.length === 0) {
      const hint = !recursive && subdirectories ? ' (use -R to include subdirectories)' : '';
      out.push(failed(input, 'empty', `no .yaml or .yml files in directory${hint}`));
    }
    out.push(...files);
  }
  return out;
}

async function walk(dir: string, recursive: boolean): Promise<{ files: string[]; subdirectories: boolean }> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  let subdirectories = false;
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      subdirectories = true;
      if (recursive) files.push(...(await walk(full, recursive)).files);
    } else if (YAML_FILE.test(entry.name)) {
      files.push(full);
    }
  }
  return { files, subdirectories };
}

/**
 * The text of every listed input, in order. Files are read synchronously: for many small files that
 * costs a fraction of the CPU of async reads, and the main thread has nothing else to do meanwhile
 * (documents are checked on worker threads).
 */
export async function* readInputs(
  entries: ReadonlyArray<string | Source>,
  stdin?: Readable,
): AsyncGenerator<Source> {
  for (const entry of entries) yield typeof entry === 'string' ? await readSource(entry, stdin) : entry;
}

/** The listed files' sizes and modification times, known before reading them (stdin is left out). */
export function listedFiles(
  entries: ReadonlyArray<string | Source>,
): Array<{ file: string; size: number; mtimeMs: number }> {
  const out: Array<{ file: string; size: number; mtimeMs: number }> = [];
  for (const entry of entries) {
    if (typeof entry !== 'string' || entry === STDIN_NAME) continue;
    try {
      const { size, mtimeMs } = statSync(entry);
      out.push({ file: entry, size, mtimeMs });
    } catch {
      // Reading it will report why.
    }
  }
  return out;
}

/** Reads one input as UTF-8 text, refusing what is too large, UTF-16, binary or otherwise not UTF-8. */
export async function readSource(file: string, stdin?: Readable): Promise<Source> {
  let bytes: Buffer;
  try {
    bytes = file === STDIN_NAME ? await readStream(stdin ?? process.stdin) : readRegularFile(file);
  } catch (error) {
    if (error instanceof RangeError) {
      return failed(file, 'too-large', `file is over the limit of ${formatSize(MAX_FILE_BYTES)}`);
    }
    if (error instanceof NotRegularFile) return failed(file, 'io', error.message);
    return failed(file, 'io', describeIoError(error));
  }
  if (bytes.length > MAX_FILE_BYTES) {
    return failed(
      file,
      'too-large',
      `file is ${formatSize(bytes.length)}, over the limit of ${formatSize(MAX_FILE_BYTES)}`,
    );
  }
  const utf16 = utf16Of(bytes);
  if (utf16) return failed(file, 'encoding', utf16Message(file, utf16, file === STDIN_NAME));
  const nul = bytes.indexOf(0);
  if (nul !== -1)
    return failed(file, 'encoding', `binary data (a NUL byte at offset ${nul}); expected YAML text`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const at = invalidUtf8Position(bytes);
    return {
      file,
      diagnostic: {
        severity: 'error',
        code: 'encoding',
        file,
        ...at,
        message: 'not valid UTF-8 text; save the file as UTF-8',
      },
    };
  }
  return { file, text };
}

/**
 * Line and column (1-based, in characters) of the first byte that is not valid UTF-8. Each line is
 * decoded once; in the line that fails, the bad byte is found by bisecting on prefixes decoded as a
 * stream (an incomplete character at a prefix's end is not an error, so "this prefix fails" only
 * grows with the prefix): O(n log n) in the line's length, where extending the prefix a byte at a time
 * took over 120 s for a bad byte at the end of a 500 KB line.
 */
export function invalidUtf8Position(bytes: Buffer): { line: number; column: number } {
  const fails = (start: number, end: number, stream: boolean) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start, end), { stream });
      return false;
    } catch {
      return true;
    }
  };
  let lineStart = 0;
  let line = 1;
  for (;;) {
    const newline = bytes.indexOf(0x0a, lineStart);
    const lineEnd = newline === -1 ? bytes.length : newline;
    if (fails(lineStart, lineEnd, false)) {
      // The shortest prefix that fails as a stream ends in the bad byte.
      let low = lineStart;
      let high = lineEnd;
      while (high - low > 1) {
        const middle = low + Math.floor((high - low) / 2);
        if (fails(lineStart, middle, true)) high = middle;
        else low = middle;
      }
      // The last character boundary before it: a multi-byte character is at most 4 bytes.
      let good = high - 1;
      while (good > lineStart && high - good < 4 && fails(lineStart, good, false)) good--;
      return { line, column: new TextDecoder().decode(bytes.subarray(lineStart, good)).length + 1 };
    }
    if (newline === -1) return { line, column: 1 };
    lineStart = newline + 1;
    line++;
  }
}

class NotRegularFile extends Error {}

/**
 * A regular file's bytes, never more than MAX_FILE_BYTES + 1 of them. Opened without blocking and
 * checked on the open descriptor (so a swap after a check cannot slip through): a FIFO would wait for
 * a writer forever and a symlink to /dev/zero never ends (5.1 GB in 30 s), and git commits both.
 */
function readRegularFile(file: string): Buffer {
  const fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const info = fstatSync(fd);
    if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (!info.isFile()) {
      throw new NotRegularFile(`not a regular file (${fileType(info)}); rmm reads only regular files`);
    }
    if (info.size > MAX_FILE_BYTES) throw new RangeError('file too large');
    // The size is a hint: the file may grow while it is read, and the cap holds regardless.
    let buffer = Buffer.allocUnsafe(info.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > MAX_FILE_BYTES) throw new RangeError('file too large');
        const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, MAX_FILE_BYTES + 1));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

function fileType(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a file';
}

async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size > MAX_FILE_BYTES) throw new RangeError('stdin too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function failed(file: string, code: Diagnostic['code'], message: string): Source {
  return { file, diagnostic: { severity: 'error', code, file, line: 1, column: 1, message } };
}

function describeIoError(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return `cannot read: ${(error as Error).message}`;
}
