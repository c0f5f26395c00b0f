import { C0_BUT_LINES, escaped, hasControl, OTHERS } from '../printable.js';
import { COLOR_CODES } from './color.js';

/**
 * What rmm writes: as printableLines escapes, but rmm's own color codes (color.ts) pass; views escape the fields
 * they color before coloring them.
 */
const IN_OUTPUT = new RegExp(
  `[${C0_BUT_LINES}${OTHERS}]|\\r(?!\\n)|\\u001b(?!\\[(?:${COLOR_CODES.join('|')})m)`,
  'g',
);

/**
 * The last guard, where rmm writes to stdout and stderr (the base command's log, writeLines): what a
 * view forgot to escape is escaped here, rmm's own color codes aside.
 */
export function printableOutput(text: string): string {
  return hasControl(text) ? text.replace(IN_OUTPUT, escaped) : text;
}

/**
 * Writes one line per item, in chunks of about 64 KB: a plan of 100,000 resources is a million lines,
 * which as one string would cost a copy of the whole output in memory, and as single writes, a
 * million system calls. Writes to files and pipes are synchronous in Node on Linux, so the order with
 * other output is kept. Control characters a view left in are escaped (src/printable.ts).
 */
export function writeLines(lines: Iterable<string>, stream: NodeJS.WriteStream = process.stdout): void {
  let chunk = '';
  for (const line of lines) {
    chunk += `${printableOutput(line)}\n`;
    if (chunk.length >= 1 << 16) {
      stream.write(chunk);
      chunk = '';
    }
  }
  if (chunk) stream.write(chunk);
}

/** One message on stderr, written as writeLines writes: for the notices outside a command's log. */
export function writeStderr(text: string): void {
  process.stderr.write(`${printableOutput(text)}\n`);
}
