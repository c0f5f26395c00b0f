import { XMLParser } from 'fast-xml-parser';
import { NS } from './uris.js';

/**
 * An XML element with its namespace resolved, so the peer checks what Windows checks (the namespace
 * URI) rather than whichever prefix a client picked. fast-xml-parser does the tokenizing and the
 * well-formedness check; this module adds what it leaves out: namespaces, entity decoding (only the
 * five XML entities and character references, so `&amp;#65;` stays `&#65;`), one root, no DTD.
 */
export interface XmlElement {
  ns: string;
  name: string;
  /** By local name; the few prefixed attributes WS-Management uses (mustUnderstand, xml:lang) never collide. */
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (CDATA included), entities decoded, untrimmed. */
  text: string;
}

export class XmlSyntaxError extends Error {}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Entities are decoded here, in one pass, so that a decoded `&amp;` is never decoded again.
  processEntities: false,
});

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

export function parseXml(text: string): XmlElement {
  // Windows refuses DTDs; refusing them here also rules out entity expansion.
  if (/<!DOCTYPE/i.test(text)) throw new XmlSyntaxError('a DTD is not allowed');
  let nodes: OrderedNode[];
  try {
    nodes = parser.parse(text, true) as OrderedNode[];
  } catch (error) {
    throw new XmlSyntaxError(error instanceof Error ? error.message : String(error));
  }
  const roots = nodes.filter((node) => elementName(node) !== undefined);
  const [root] = roots;
  if (roots.length !== 1 || root === undefined) throw new XmlSyntaxError('expected exactly one root element');
  return toElement(root, new Map([['xml', NS.xml]]), 0);
}

/** The first child with this namespace and local name. */
export function child(element: XmlElement | undefined, ns: string, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.ns === ns && c.name === name);
}

export function children(element: XmlElement | undefined, ns: string, name: string): XmlElement[] {
  return element?.children.filter((c) => c.ns === ns && c.name === name) ?? [];
}

/** Nesting deeper than any SOAP envelope needs is refused, which also bounds the recursion. */
const MAX_DEPTH = 64;

function toElement(node: OrderedNode, outerScope: Map<string, string>, depth: number): XmlElement {
  if (depth > MAX_DEPTH) throw new XmlSyntaxError('elements nested too deeply');
  const qualifiedName = elementName(node) ?? '';
  const rawAttributes = node[':@'] ?? {};
  const scope = new Map(outerScope);
  for (const [key, value] of Object.entries(rawAttributes)) {
    if (key === 'xmlns') scope.set('', decodeEntities(value));
    else if (key.startsWith('xmlns:')) scope.set(key.slice(6), decodeEntities(value));
  }
  const { prefix, local } = splitName(qualifiedName);
  const ns = scope.get(prefix);
  if (ns === undefined)
    throw new XmlSyntaxError(`undeclared namespace prefix '${prefix}' on <${qualifiedName}>`);
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawAttributes)) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
    const attribute = splitName(key);
    if (attribute.prefix !== '' && !scope.has(attribute.prefix))
      throw new XmlSyntaxError(`undeclared namespace prefix '${attribute.prefix}' on attribute ${key}`);
    attributes[attribute.local] = decodeEntities(value);
  }
  const element: XmlElement = { ns, name: local, attributes, children: [], text: '' };
  const content = node[qualifiedName];
  for (const item of Array.isArray(content) ? (content as OrderedNode[]) : []) {
    if (typeof item['#text'] === 'string') element.text += decodeEntities(item['#text']);
    else if (elementName(item) !== undefined) element.children.push(toElement(item, scope, depth + 1));
  }
  return element;
}

function elementName(node: OrderedNode): string | undefined {
  return Object.keys(node).find((key) => key !== ':@' && key !== '#text' && !key.startsWith('?'));
}

function splitName(qualifiedName: string): { prefix: string; local: string } {
  const colon = qualifiedName.indexOf(':');
  return colon < 0
    ? { prefix: '', local: qualifiedName }
    : { prefix: qualifiedName.slice(0, colon), local: qualifiedName.slice(colon + 1) };
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&([^;&]*);?/g, (match, name: string) => {
    if (!match.endsWith(';')) throw new XmlSyntaxError(`unterminated entity reference '${match}'`);
    const named = NAMED_ENTITIES[name];
    if (named !== undefined) return named;
    const code = /^#x[0-9a-f]+$/i.test(name)
      ? Number.parseInt(name.slice(2), 16)
      : /^#[0-9]+$/.test(name)
        ? Number.parseInt(name.slice(1), 10)
        : Number.NaN;
    if (!Number.isInteger(code) || code < 1 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
      throw new XmlSyntaxError(`unknown entity '${match}'`);
    return String.fromCodePoint(code);
  });
}
