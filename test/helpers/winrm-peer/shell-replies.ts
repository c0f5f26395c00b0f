import type { OutputBatch, StreamName } from './command-output.js';
import { escapeXml } from './soap-writer.js';
import { CMD_RESOURCE_URI, COMMAND_STATE, NS } from './uris.js';

/** The reply bodies of the shell operations, in the shapes Windows sends (pypsrp's recorded test_winrs_*). */

export interface CreatedShell {
  id: string;
  endpointUrl: string;
  owner: string;
  clientAddress: string;
  inputStreams: string;
  outputStreams: string;
}

export function createResponseBody(shell: CreatedShell): string {
  const id = escapeXml(shell.id);
  return (
    `<x:ResourceCreated><a:Address>${escapeXml(shell.endpointUrl)}</a:Address><a:ReferenceParameters>` +
    `<w:ResourceURI>${CMD_RESOURCE_URI}</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">${id}</w:Selector>` +
    `</w:SelectorSet></a:ReferenceParameters></x:ResourceCreated><rsp:Shell xmlns:rsp="${NS.shell}">` +
    `<rsp:ShellId>${id}</rsp:ShellId><rsp:ResourceUri>${CMD_RESOURCE_URI}</rsp:ResourceUri>` +
    `<rsp:Owner>${escapeXml(shell.owner)}</rsp:Owner><rsp:ClientIP>${escapeXml(shell.clientAddress)}</rsp:ClientIP>` +
    `<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>${escapeXml(shell.inputStreams)}</rsp:InputStreams>` +
    `<rsp:OutputStreams>${escapeXml(shell.outputStreams)}</rsp:OutputStreams>` +
    '<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>'
  );
}

export function commandResponseBody(commandId: string): string {
  return `<rsp:CommandResponse><rsp:CommandId>${escapeXml(commandId)}</rsp:CommandId></rsp:CommandResponse>`;
}

/** Output in base64 per stream; once it is all out, End markers and the exit code. */
export function receiveResponseBody(
  commandId: string,
  streams: readonly StreamName[],
  batch: OutputBatch,
): string {
  const id = escapeXml(commandId);
  let xml = '<rsp:ReceiveResponse>';
  for (const chunk of mergeNeighbours(batch)) {
    xml += `<rsp:Stream Name="${chunk.stream}" CommandId="${id}">${chunk.data.toString('base64')}</rsp:Stream>`;
  }
  if (batch.exitCode === undefined) {
    xml += `<rsp:CommandState CommandId="${id}" State="${COMMAND_STATE.running}"/>`;
  } else {
    for (const stream of streams)
      xml += `<rsp:Stream Name="${stream}" CommandId="${id}" End="true"></rsp:Stream>`;
    xml += `<rsp:CommandState CommandId="${id}" State="${COMMAND_STATE.done}"><rsp:ExitCode>${batch.exitCode}</rsp:ExitCode></rsp:CommandState>`;
  }
  return `${xml}</rsp:ReceiveResponse>`;
}

/** XML bytes a Stream element costs beyond its base64 text, a generous bound. */
export const STREAM_ELEMENT_OVERHEAD = 160;
/** What the envelope around the streams costs, a generous bound. */
export const RECEIVE_ENVELOPE_OVERHEAD = 2048;

function mergeNeighbours(batch: OutputBatch): { stream: StreamName; data: Buffer }[] {
  const merged: { stream: StreamName; data: Buffer }[] = [];
  for (const chunk of batch.chunks) {
    const last = merged.at(-1);
    if (last !== undefined && last.stream === chunk.stream)
      last.data = Buffer.concat([last.data, chunk.data]);
    else merged.push({ stream: chunk.stream, data: chunk.data });
  }
  return merged;
}
