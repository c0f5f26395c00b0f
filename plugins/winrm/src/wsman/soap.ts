import { child, excerpt, parseXml, path, WsmanParseError, type XmlElement } from './xml-read.js';

/** The s:Body of a SOAP envelope, if `root` is one. */
export function bodyOf(root: XmlElement): XmlElement | undefined {
  return root.name === 'Envelope' ? child(root, 'Body') : undefined;
}

/** The s:Body of a response that must not be a fault (check parseFault first to handle those). */
export function successBody(xml: string, expected: string): XmlElement {
  const body = bodyOf(parseXml(xml));
  if (!body) throw new WsmanParseError(`expected ${expected} in a SOAP envelope, got: ${excerpt(xml)}`);
  const fault = child(body, 'Fault');
  if (fault) {
    const reason = path(fault, 'Reason', 'Text')?.text.trim() ?? '';
    throw new WsmanParseError(`expected ${expected}, got a SOAP fault${reason === '' ? '' : `: ${reason}`}`);
  }
  return body;
}
