import { bodyOf } from './soap.js';
import { child, deepText, parseXml, path, type XmlElement } from './xml-read.js';

/** The WSManFault code of "no output within OperationTimeout": the client simply sends another Receive. */
export const OPERATION_TIMEOUT_FAULT = '2150858793';

export interface WsmanFault {
  /** The WSManFault Code attribute: a Windows error number in decimal, e.g. '2150858793'. */
  code: string | null;
  /** The local part of the SOAP subcode QName, e.g. 'TimedOut', 'InvalidSelectors', 'AccessDenied'. */
  subcode: string | null;
  /** The SOAP reason text, trimmed ('' when the server gave none). */
  reason: string;
  /** The WSManFault Message text, nested provider faults included, trimmed. */
  message: string | null;
}

/**
 * The fault a response reports, or null when it is well-formed XML but no SOAP fault. A document
 * that is not XML at all (an empty body, a truncated one) throws WsmanParseError.
 */
export function parseFault(xml: string): WsmanFault | null {
  const body = bodyOf(parseXml(xml));
  const fault = body && child(body, 'Fault');
  if (!fault) return null;
  const wsmanFault = path(fault, 'Detail', 'WSManFault');
  const message = wsmanFault && child(wsmanFault, 'Message');
  return {
    code: wsmanFault?.attributes.Code?.trim() || null,
    subcode: subcode(fault),
    reason: reason(fault),
    message: message ? deepText(message) : null,
  };
}

function subcode(fault: XmlElement): string | null {
  const value = path(fault, 'Code', 'Subcode', 'Value')?.text.trim();
  if (!value) return null;
  // A QName: its prefix is whatever the server bound, so only the local part is comparable.
  return value.slice(value.indexOf(':') + 1);
}

function reason(fault: XmlElement): string {
  // SOAP 1.1 servers put the reason in faultstring.
  const text = path(fault, 'Reason', 'Text') ?? child(fault, 'faultstring');
  return text?.text.trim() ?? '';
}
