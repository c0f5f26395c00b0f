import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** The response was not the well-formed WS-Management document expected; the message says what was. */
export class WsmanParseError extends Error {
  override name = 'WsmanParseError';
}

/** An element by its local name: the prefixes a server picks carry no meaning here. */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text: references resolved, CDATA opened, whitespace kept. */
  text: string;
}

type OrderedNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // References are resolved below, numeric ones included, which the parser leaves alone.
  processEntities: false,
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Output streams are plain base64, up to the whole envelope size: not worth scanning for markup.
  stopNodes: ['*.Stream'],
});

/** Parses a response into its root element; throws WsmanParseError unless it is well-formed XML. */
export function parseXml(xml: unknown): XmlElement {
  if (typeof xml !== 'string') throw new WsmanParseError(`expected an XML document, got ${typeof xml}`);
  const source = xml.startsWith('\uFEFF') ? xml.slice(1) : xml;
  if (source.trim() === '') throw new WsmanParseError('expected an XML document, got an empty one');
  // SOAP forbids a DTD, and refusing it rules out entity expansion tricks.
  const firstElement = source.search(/<[A-Za-z_]/);
  if (firstElement >= 0 && /<!DOCTYPE/i.test(source.slice(0, firstElement))) {
    throw new WsmanParseError(
      `expected a SOAP envelope, got a document type declaration: ${excerpt(source)}`,
    );
  }
  const valid = XMLValidator.validate(source);
  if (valid !== true) throw malformed(source, valid.err);
  let nodes: OrderedNode[];
  try {
    nodes = parser.parse(source) as OrderedNode[];
  } catch (error) {
    throw new WsmanParseError(`expected parseable XML, but ${(error as Error).message}: ${excerpt(source)}`);
  }
  const root = nodes.map(toElement).find((node) => node !== null);
  if (!root) throw new WsmanParseError(`expected a root element: ${excerpt(source)}`);
  return root;
}

function malformed(
  source: string,
  { msg, line, col }: { msg: string; line: number; col?: number },
): WsmanParseError {
  // The validator reports a document that ends early as a JSON list of the elements still open.
  const open = /^Invalid '\[(.*)\]' found/.exec(msg)?.[1];
  if (open !== undefined) {
    const names = open.replace(/[\s"]/g, '').split(',').filter(Boolean);
    return new WsmanParseError(
      `expected well-formed XML, but it ends inside <${names.join('>, <')}> (truncated?): ${tail(source)}`,
    );
  }
  const where = `line ${line}${col === undefined ? '' : `, column ${col}`}`;
  return new WsmanParseError(
    `expected well-formed XML, but ${msg.replace(/\.$/, '')} at ${where}: ${excerpt(source, line, col)}`,
  );
}

function toElement(node: OrderedNode): XmlElement | null {
  const name = Object.keys(node).find((key) => key !== ':@');
  if (name === undefined || name.startsWith('#')) return null;
  // No prototype: an attribute called __proto__ or constructor is just an attribute.
  const element: XmlElement = { name, attributes: Object.create(null), children: [], text: '' };
  const attributes = node[':@'] as Record<string, string> | undefined;
  for (const [key, value] of Object.entries(attributes ?? {}))
    element.attributes[key] = decodeReferences(value);
  for (const child of node[name] as OrderedNode[]) {
    if ('#text' in child)
      element.text +=
        name === 'Stream' ? rawText(String(child['#text'])) : decodeReferences(String(child['#text']));
    else if ('#cdata' in child) element.text += cdataText(child['#cdata']);
    else {
      const nested = toElement(child);
      if (nested) element.children.push(nested);
    }
  }
  return element;
}

/** The text of an element the parser left unparsed (a Stream): CDATA sections opened, references resolved. */
function rawText(raw: string): string {
  if (!raw.includes('<') && !raw.includes('&')) return raw;
  return raw
    .split(/(<!\[CDATA\[[\s\S]*?\]\]>)/)
    .map((part) => (part.startsWith('<![CDATA[') ? part.slice(9, -3) : decodeReferences(part)))
    .join('');
}

function cdataText(content: unknown): string {
  return Array.isArray(content)
    ? content.map((part) => String((part as OrderedNode)['#text'] ?? '')).join('')
    : '';
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const REFERENCE = /&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z_][\w.-]*);/g;

function decodeReferences(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(REFERENCE, (whole, name: string) => {
    if (!name.startsWith('#')) {
      const predefined = PREDEFINED[name];
      if (predefined === undefined)
        throw new WsmanParseError(`expected only XML's predefined entities, got ${whole}`);
      return predefined;
    }
    const code = name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
    if (!(code > 0 && code <= 0x10ffff))
      throw new WsmanParseError(`expected a character reference, got ${whole}`);
    return String.fromCodePoint(code);
  });
}

/** The first child element called `name`. */
export function child(parent: XmlElement, name: string): XmlElement | undefined {
  return parent.children.find((element) => element.name === name);
}

/** The element reached by following first children with these names, e.g. `path(fault, 'Reason', 'Text')`. */
export function path(from: XmlElement, ...names: string[]): XmlElement | undefined {
  let current: XmlElement | undefined = from;
  for (const name of names) current = current && child(current, name);
  return current;
}

/** Every element called `name` below `root`, in document order. */
export function descendants(root: XmlElement, name: string): XmlElement[] {
  const found: XmlElement[] = [];
  const visit = (element: XmlElement) => {
    for (const nested of element.children) {
      if (nested.name === name) found.push(nested);
      visit(nested);
    }
  };
  visit(root);
  return found;
}

/** All text inside `element`, its descendants' included, each piece trimmed and joined by a space. */
export function deepText(element: XmlElement): string {
  const pieces = [element.text.trim(), ...element.children.map(deepText)];
  return pieces.filter((piece) => piece !== '').join(' ');
}

/** The end of the document, where a truncated one stops. */
function tail(xml: string): string {
  const text = xml.slice(-80).replace(/\s+/g, ' ').trim();
  return text === '' ? '(empty document)' : JSON.stringify(`${xml.length > 80 ? '…' : ''}${text}`);
}

/** The start of the document, or the text around a line/column, collapsed to one short line. */
export function excerpt(xml: string, line?: number, column?: number): string {
  let start = 0;
  for (let current = 1; line !== undefined && current < line; current++) {
    const newline = xml.indexOf('\n', start);
    if (newline < 0) break;
    start = newline + 1;
  }
  // Some context before the reported position, which is often just past the damage.
  if (line !== undefined) start = Math.max(0, start + (column ?? 1) - 1 - 40);
  const text = xml
    .slice(start, start + 120)
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return '(empty document)';
  return JSON.stringify(`${start > 0 ? '…' : ''}${text}${xml.length > start + 120 ? '…' : ''}`);
}
