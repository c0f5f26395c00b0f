/**
 * UTF-16 input, told apart from binary data: Windows editors (Notepad's "Unicode", PowerShell 5.1's
 * `>` and Out-File) save YAML as UTF-16, and "binary data" left the user guessing what to do.
 */
export interface Utf16 {
  order: 'little-endian' | 'big-endian';
  bom: boolean;
}

/** How many bytes the guess without a byte order mark looks at. */
const SAMPLE = 1024;

/**
 * UTF-16 by its byte order mark, or without one by the NUL high bytes of text that is mostly ASCII
 * (as YAML's keys always are): at least half the 2-byte units are a NUL beside a non-NUL, all on the
 * same side, and no unit is two NULs (UTF-32 and binary data have those).
 */
export function utf16Of(bytes: Uint8Array): Utf16 | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe && !(bytes[2] === 0 && bytes[3] === 0))
    return { order: 'little-endian', bom: true };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { order: 'big-endian', bom: true };
  const units = Math.floor(Math.min(bytes.length, SAMPLE) / 2);
  let low = 0;
  let high = 0;
  for (let i = 0; i < units; i++) {
    const first = bytes[2 * i];
    const second = bytes[2 * i + 1];
    if (first === 0 && second === 0) return undefined;
    if (second === 0) low++;
    else if (first === 0) high++;
  }
  if (units === 0 || (low > 0 && high > 0)) return undefined;
  if (low * 2 >= units) return { order: 'little-endian', bom: false };
  if (high * 2 >= units) return { order: 'big-endian', bom: false };
  return undefined;
}

/** The message for a UTF-16 file: what it is, and the command that converts it in place. */
export function utf16Message(file: string, found: Utf16, stdin: boolean): string {
  // iconv reads the order from a byte order mark; without one, "UTF-16" would mean big-endian.
  const from = found.bom ? 'UTF-16' : found.order === 'little-endian' ? 'UTF-16LE' : 'UTF-16BE';
  const what = `UTF-16 text (${found.order}${found.bom ? ', with a byte order mark' : ''}); rmm reads UTF-8`;
  if (stdin) return `${what}: convert it with iconv -f ${from} -t UTF-8`;
  const name = shellQuote(file);
  const converted = shellQuote(`${file}.new`);
  return `${what}: convert it with iconv -f ${from} -t UTF-8 ${name} > ${converted} && mv ${converted} ${name}`;
}

/** A file name as a POSIX shell reads it back: quoted unless it is plainly safe. */
function shellQuote(text: string): string {
  return /^[\w./@%+=:,-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
