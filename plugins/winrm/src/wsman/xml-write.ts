/**
 * Just enough XML writing for SOAP envelopes: elements with escaped attributes and text. Values
 * that XML 1.0 cannot carry at all are refused rather than sent to be rejected by the server.
 */

export type Attributes = Record<string, string | undefined>;

/** `<name attrs>children</name>`, or `<name attrs/>` without children; children are markup. */
export function element(name: string, attributes: Attributes, children: string[] = []): string {
  const open = `${name}${attributeList(attributes)}`;
  return children.length === 0 ? `<${open}/>` : `<${open}>${children.join('')}</${name}>`;
}

/** An element whose content is the (escaped) text. */
export function textElement(name: string, attributes: Attributes, text: string): string {
  return text === ''
    ? element(name, attributes)
    : `<${name}${attributeList(attributes)}>${escapeText(text)}</${name}>`;
}

function attributeList(attributes: Attributes): string {
  let list = '';
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) list += ` ${name}="${escapeAttribute(value)}"`;
  }
  return list;
}

const TEXT_SPECIALS = /[&<>"'\r]/g;
// Attribute values are also whitespace-normalised by parsers, so tab and newline need references too.
const ATTRIBUTE_SPECIALS = /[&<>"'\r\n\t]/g;
const REFERENCES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  // A literal CR would come out of the parser as LF.
  '\r': '&#13;',
  '\n': '&#10;',
  '\t': '&#9;',
};

export function escapeText(value: string): string {
  assertXmlCharacters(value);
  return value.replace(TEXT_SPECIALS, (c) => REFERENCES[c] ?? c);
}

export function escapeAttribute(value: string): string {
  assertXmlCharacters(value);
  return value.replace(ATTRIBUTE_SPECIALS, (c) => REFERENCES[c] ?? c);
}

/** XML 1.0 has no way, not even a character reference, to carry most C0 controls or lone surrogates. */
function assertXmlCharacters(value: string): void {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0x20 && code < 0xd800) continue;
    if (code === 0x09 || code === 0x0a || code === 0x0d) continue;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    } else if (code >= 0xe000 && code <= 0xfffd) continue;
    throw new RangeError(
      `cannot put character U+${code.toString(16).toUpperCase().padStart(4, '0')} (at index ${i}) into a WS-Management message: XML 1.0 cannot represent it`,
    );
  }
}
