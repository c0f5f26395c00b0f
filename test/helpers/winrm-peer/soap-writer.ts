import { randomUUID } from 'node:crypto';
import { ACTION, ANONYMOUS, NS } from './uris.js';
import type { WsmanFault } from './wsman-faults.js';

/** Writes reply envelopes the way Windows does: its prefixes, a fresh MessageID, RelatesTo the request's. */

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`,
  );
}

export function newUuid(): string {
  return randomUUID().toUpperCase();
}

export function envelope(action: string, relatesTo: string | undefined, body: string): string {
  const relates = relatesTo === undefined ? '' : `<a:RelatesTo>${escapeXml(relatesTo)}</a:RelatesTo>`;
  return (
    `<s:Envelope xml:lang="en-US" xmlns:s="${NS.soap}" xmlns:a="${NS.addressing}" xmlns:x="${NS.transfer}"` +
    ` xmlns:w="${NS.wsman}" xmlns:rsp="${NS.shell}" xmlns:p="${NS.wsmanMicrosoft}">` +
    `<s:Header><a:Action>${escapeXml(action)}</a:Action><a:MessageID>uuid:${newUuid()}</a:MessageID>` +
    `<a:To>${ANONYMOUS}</a:To>${relates}</s:Header><s:Body>${body}</s:Body></s:Envelope>`
  );
}

export function faultEnvelope(fault: WsmanFault, relatesTo: string | undefined, machine: string): string {
  const detail = fault.faultDetail === undefined ? '' : `<w:FaultDetail>${fault.faultDetail}</w:FaultDetail>`;
  const body =
    `<s:Fault><s:Code><s:Value>${fault.code}</s:Value><s:Subcode><s:Value>${fault.subcode}</s:Value></s:Subcode></s:Code>` +
    `<s:Reason><s:Text xml:lang="en-US">${escapeXml(fault.reason)}</s:Text></s:Reason>` +
    `<s:Detail>${detail}<f:WSManFault xmlns:f="${NS.wsmanFault}" Code="${fault.wsmanCode}" Machine="${escapeXml(machine)}">` +
    `<f:Message>${escapeXml(fault.detailMessage)}</f:Message></f:WSManFault></s:Detail></s:Fault>`;
  return envelope(ACTION.fault, relatesTo, body);
}
