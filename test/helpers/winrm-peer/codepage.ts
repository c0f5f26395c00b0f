/**
 * WINRS_CODEPAGE: Windows hands a command's console output to the client in the shell's code page
 * (pywinrm asks for 437 by default, 65001 is UTF-8) and reads its stdin in that code page too. Local
 * processes speak UTF-8, so the peer transcodes both ways for the single-byte code pages below and
 * passes bytes through for 65001 and for code pages it does not know.
 */

export type Transcode = (chunk: Buffer) => Buffer;

/** OEM United States; not among the encodings TextDecoder knows, so spelled out (bytes 0x80-0xFF). */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** Windows code page numbers and the WHATWG names TextDecoder knows them by. */
const WHATWG_NAMES: Record<number, string> = {
  866: 'ibm866',
  874: 'windows-874',
  1250: 'windows-1250',
  1251: 'windows-1251',
  1252: 'windows-1252',
  1253: 'windows-1253',
  1254: 'windows-1254',
  1255: 'windows-1255',
  1256: 'windows-1256',
  1257: 'windows-1257',
  1258: 'windows-1258',
  20866: 'koi8-r',
  21866: 'koi8-u',
  28591: 'windows-1252',
  28592: 'iso-8859-2',
  28595: 'iso-8859-5',
  28597: 'iso-8859-7',
};

const tables = new Map<number, string | undefined>();

/** Characters of bytes 0x80-0xFF, or undefined when the code page is passed through as bytes. */
function highHalf(codepage: number): string | undefined {
  if (tables.has(codepage)) return tables.get(codepage);
  let table: string | undefined;
  if (codepage === 437) table = CP437_HIGH;
  else {
    const name = WHATWG_NAMES[codepage];
    if (name !== undefined) {
      const bytes = Uint8Array.from({ length: 128 }, (_, i) => 0x80 + i);
      table = new TextDecoder(name).decode(bytes);
    }
  }
  tables.set(codepage, table);
  return table;
}

/** UTF-8 from a local process to the code page's bytes; a character it lacks becomes '?', as in Windows. */
export function outputTranscoder(codepage: number): Transcode | undefined {
  const table = highHalf(codepage);
  if (table === undefined) return undefined;
  const byChar = new Map<string, number>();
  for (let i = 0; i < table.length; i++) byChar.set(table.charAt(i), 0x80 + i);
  const decoder = new TextDecoder('utf-8');
  return (chunk) => {
    // stream: true keeps a character split across two chunks whole; an empty chunk flushes.
    const text = decoder.decode(chunk, { stream: chunk.length > 0 });
    const out = Buffer.allocUnsafe(text.length);
    let length = 0;
    for (const char of text) {
      const code = char.codePointAt(0) ?? 0x3f;
      out[length++] = code < 0x80 ? code : (byChar.get(char) ?? 0x3f);
    }
    return out.subarray(0, length);
  };
}

/** The code page's bytes from a client's stdin to UTF-8 for a local process. */
export function inputTranscoder(codepage: number): Transcode | undefined {
  const table = highHalf(codepage);
  if (table === undefined) return undefined;
  return (chunk) => {
    let text = '';
    for (const byte of chunk) text += byte < 0x80 ? String.fromCharCode(byte) : table.charAt(byte - 0x80);
    return Buffer.from(text, 'utf8');
  };
}
