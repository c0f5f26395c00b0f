/**
 * Text from outside rmm (YAML, file names, the database, what a device prints) made safe to show on
 * a terminal: a control character could clear the screen (ESC[2J), set the title, a link or the
 * clipboard (OSC), or move the cursor to overwrite what rmm said; a bidi override (Trojan Source,
 * CVE-2021-42574) shows text in another order than it is. Each such character is shown as its
 * `\uXXXX` escape, the form JSON and JavaScript use, so a value reads the same in text and in JSON
 * output, and JSON text stays valid and equal in value when it passes through here.
 *
 * Escaped: C0 controls, DEL, C1 controls (U+0080-U+009F, 8-bit CSI and OSC among them), and the bidi
 * embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069. A backslash is left as it is,
 * so Windows paths stay readable (and escaping twice changes nothing).
 */
/** C0 but tab, newline and carriage return; then DEL, C1 and the bidi controls. */
export const C0_BUT_LINES = '\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001a\\u001c-\\u001f';
export const OTHERS = '\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069';

/** One field on one line (a name, a key, a cell): newlines and tabs are escaped too. */
const IN_FIELD = new RegExp(`[\\u0000-\\u001f${OTHERS}]`, 'g');

/** Multi-line text: newlines and tabs kept, a carriage return only where it ends a line (CR LF). */
const IN_LINES = new RegExp(`[${C0_BUT_LINES}${OTHERS}]|\\r(?!\\n)|\\u001b`, 'g');

// Text rarely holds any of them: a test without /g first made the guard three times cheaper
// (0.1 s instead of 0.3 s per million plan lines).
const ANY_IN_LINES = new RegExp(`[${C0_BUT_LINES}${OTHERS}\\r\\u001b]`);
const ANY_IN_FIELD = new RegExp(IN_FIELD.source);

export const escaped = (char: string) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;

/** A value shown within one line: every control character escaped, newlines and tabs included. */
export function printable(text: string): string {
  return ANY_IN_FIELD.test(text) ? text.replace(IN_FIELD, escaped) : text;
}

/** Text of several lines (a device's output, an error with details): lines and tabs kept. */
export function printableLines(text: string): string {
  return hasControl(text) ? text.replace(IN_LINES, escaped) : text;
}

/** Whether printableLines (or views/output.ts's printableOutput) would change the text (a CR LF counts too). */
export function hasControl(text: string): boolean {
  return ANY_IN_LINES.test(text);
}
