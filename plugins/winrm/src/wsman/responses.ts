import { successBody } from './soap.js';
import { COMMAND_STATE_DONE } from './uris.js';
import { child, descendants, excerpt, WsmanParseError, type XmlElement } from './xml-read.js';

/** The ShellId of a Create response: its ShellId selector, or the rsp:ShellId some servers send instead. */
export function parseShellId(xml: string): string {
  const body = successBody(xml, 'a Create response');
  const selector = descendants(body, 'Selector').find((s) => s.attributes.Name?.toLowerCase() === 'shellid');
  const id = (selector ?? descendants(body, 'ShellId')[0])?.text.trim();
  if (!id) throw new WsmanParseError(`expected a ShellId in the Create response, got: ${excerpt(xml)}`);
  return id;
}

/** The CommandId of a Command response (rsp:CommandResponse/rsp:CommandId). */
export function parseCommandId(xml: string): string {
  const body = successBody(xml, 'a Command response');
  const id = descendants(body, 'CommandId')[0]?.text.trim();
  if (!id) throw new WsmanParseError(`expected a CommandId in the Command response, got: ${excerpt(xml)}`);
  return id;
}

export interface ReceiveResult {
  /** Output chunks as sent; a multi-byte character may straddle two chunks, so decode only their concatenation. */
  stdout: Buffer[];
  stderr: Buffer[];
  /** The command has finished; no further Receive will return output. */
  done: boolean;
  /** The exit code once done (unsigned, as Windows reports it: 0xC000013A is 3221225786); null before. */
  exitCode: number | null;
}

/** The output streams and command state of a Receive response. */
export function parseReceive(xml: string): ReceiveResult {
  const body = successBody(xml, 'a Receive response');
  const response = child(body, 'ReceiveResponse');
  if (!response)
    throw new WsmanParseError(`expected rsp:ReceiveResponse in the Receive response, got: ${excerpt(xml)}`);
  const result: ReceiveResult = { stdout: [], stderr: [], done: false, exitCode: null };
  for (const stream of response.children) {
    if (stream.name !== 'Stream') continue;
    const target =
      stream.attributes.Name === 'stdout'
        ? result.stdout
        : stream.attributes.Name === 'stderr'
          ? result.stderr
          : null;
    const data = decodeBase64(stream.text);
    // An empty stream (usually End="true") only says the stream closed.
    if (target && data.length > 0) target.push(data);
  }
  const state = child(response, 'CommandState');
  if (state) {
    const stateUri = state.attributes.State ?? '';
    result.done = stateUri === COMMAND_STATE_DONE || stateUri.endsWith('/CommandState/Done');
    result.exitCode = exitCode(state);
  }
  return result;
}

function exitCode(state: XmlElement): number | null {
  const element = child(state, 'ExitCode');
  if (!element) return null;
  const text = element.text.trim();
  if (!/^-?\d{1,10}$/.test(text))
    throw new WsmanParseError(`expected a numeric rsp:ExitCode, got ${JSON.stringify(text)}`);
  return Number(text);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(text: string): Buffer {
  // Line breaks are legal inside xs:base64Binary; Windows sends none, other servers might.
  const compact = /\s/.test(text) ? text.replace(/\s+/g, '') : text;
  if (!BASE64.test(compact)) {
    throw new WsmanParseError(
      `expected base64 output in rsp:Stream, got ${JSON.stringify(compact.slice(0, 60))}`,
    );
  }
  return Buffer.from(compact, 'base64');
}
