import { NS } from './uris.js';
import { invalidXml, schemaValidation } from './wsman-faults.js';
import { child, children, parseXml, type XmlElement, XmlSyntaxError } from './xml-tree.js';

/** The parts of a WS-Management request the shell needs, read from its SOAP header. */
export interface SoapRequest {
  action: string;
  messageId: string;
  resourceUri: string | undefined;
  selectors: Map<string, string>;
  /** w:OptionSet, by option name. */
  options: Map<string, string>;
  operationTimeoutMs: number | undefined;
  /** The reply must fit in this many bytes (w:MaxEnvelopeSize). */
  maxEnvelopeSize: number | undefined;
  /** The first element inside s:Body, if any. */
  body: XmlElement | undefined;
}

/** Parses one SOAP 1.2 envelope; throws a WsmanFault for anything Windows would refuse. */
export function parseSoapRequest(xml: string): SoapRequest {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw invalidXml(error.message);
    throw error;
  }
  if (root.ns !== NS.soap || root.name !== 'Envelope')
    throw invalidXml('the root is not a SOAP 1.2 Envelope');
  const header = child(root, NS.soap, 'Header');
  const body = child(root, NS.soap, 'Body');
  if (header === undefined) throw schemaValidation('the envelope has no Header');
  if (body === undefined) throw schemaValidation('the envelope has no Body');
  const action = child(header, NS.addressing, 'Action')?.text.trim();
  const messageId = child(header, NS.addressing, 'MessageID')?.text.trim();
  if (!action) throw schemaValidation('the header has no a:Action');
  if (!messageId) throw schemaValidation('the header has no a:MessageID');
  return {
    action,
    messageId,
    resourceUri: child(header, NS.wsman, 'ResourceURI')?.text.trim(),
    selectors: namedValues(child(header, NS.wsman, 'SelectorSet'), 'Selector'),
    options: namedValues(child(header, NS.wsman, 'OptionSet'), 'Option'),
    operationTimeoutMs: optionalDuration(child(header, NS.wsman, 'OperationTimeout')),
    maxEnvelopeSize: optionalPositiveInteger(child(header, NS.wsman, 'MaxEnvelopeSize')),
    body: body.children[0],
  };
}

function namedValues(set: XmlElement | undefined, itemName: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const item of children(set, NS.wsman, itemName)) {
    const name = item.attributes.Name;
    if (name === undefined) throw schemaValidation(`a w:${itemName} has no Name`);
    values.set(name, item.text.trim());
  }
  return values;
}

function optionalPositiveInteger(element: XmlElement | undefined): number | undefined {
  if (element === undefined) return undefined;
  const value = Number(element.text.trim());
  if (!Number.isInteger(value) || value <= 0)
    throw schemaValidation(`not a positive integer: ${element.text}`);
  return value;
}

function optionalDuration(element: XmlElement | undefined): number | undefined {
  if (element === undefined) return undefined;
  const ms = parseDurationMs(element.text.trim());
  if (ms === undefined) throw schemaValidation(`not an xs:duration: ${element.text}`);
  return ms;
}

/** xs:duration as WS-Management uses it (PT20S, PT60.000S, P0DT0H1M0S); months and years are refused. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (match === null || text === 'P' || text.endsWith('T')) return undefined;
  const [, days, hours, minutes, seconds] = match;
  const total =
    Number(days ?? 0) * 86_400 + Number(hours ?? 0) * 3600 + Number(minutes ?? 0) * 60 + Number(seconds ?? 0);
  return Math.round(total * 1000);
}
