import { randomUUID } from 'node:crypto';
import { ANONYMOUS_REPLY_TO, CMD_SHELL_RESOURCE, NS } from './uris.js';
import { element, textElement } from './xml-write.js';

/** What every request header carries, fixed per connection. */
export interface EnvelopeContext {
  /** The endpoint, e.g. `http://host:5985/wsman`; sent as the a:To header. */
  url: string;
  /** The largest response envelope, in bytes, this client accepts; also bounds our own requests. */
  maxEnvelopeSize: number;
  /** How long the server may hold an operation (above all a Receive) before answering with a timeout fault. */
  operationTimeoutSec: number;
  /** Locale of the server's messages; `en-US` when not given. */
  locale?: string;
  /** A fixed message id (with or without `uuid:`), for tests; a random one otherwise. */
  messageId?: string;
}

export interface EnvelopeParts {
  action: string;
  /** The shell the request addresses; absent only on Create. */
  shellId?: string;
  /** WS-Management options (w:OptionSet), in order. */
  options?: Array<[name: string, value: string]>;
  /** The markup inside s:Body. */
  body: string[];
}

const DEFAULT_LOCALE = 'en-US';

/**
 * A complete request envelope. The header order is the one pywinrm sends, which every Windows
 * version since 2008 accepts: To, ReplyTo, MaxEnvelopeSize, MessageID, Locale, DataLocale,
 * OperationTimeout, ResourceURI, Action, SelectorSet, OptionSet.
 */
export function envelope(ctx: EnvelopeContext, parts: EnvelopeParts): string {
  const locale = ctx.locale ?? DEFAULT_LOCALE;
  const header = [
    textElement('a:To', {}, ctx.url),
    element('a:ReplyTo', {}, [textElement('a:Address', { mustUnderstand: 'true' }, ANONYMOUS_REPLY_TO)]),
    textElement('w:MaxEnvelopeSize', { mustUnderstand: 'true' }, envelopeSize(ctx.maxEnvelopeSize)),
    textElement('a:MessageID', {}, messageId(ctx.messageId)),
    element('w:Locale', { mustUnderstand: 'false', 'xml:lang': locale }),
    element('p:DataLocale', { mustUnderstand: 'false', 'xml:lang': locale }),
    textElement('w:OperationTimeout', {}, duration(ctx.operationTimeoutSec)),
    textElement('w:ResourceURI', { mustUnderstand: 'true' }, CMD_SHELL_RESOURCE),
    textElement('a:Action', { mustUnderstand: 'true' }, parts.action),
  ];
  if (parts.shellId !== undefined) {
    header.push(
      element('w:SelectorSet', {}, [textElement('w:Selector', { Name: 'ShellId' }, parts.shellId)]),
    );
  }
  if (parts.options !== undefined && parts.options.length > 0) {
    const options = parts.options.map(([name, value]) => textElement('w:Option', { Name: name }, value));
    header.push(element('w:OptionSet', {}, options));
  }
  const namespaces = Object.fromEntries(Object.entries(NS).map(([prefix, uri]) => [`xmlns:${prefix}`, uri]));
  const soap = element('s:Envelope', namespaces, [
    element('s:Header', {}, header),
    element('s:Body', {}, parts.body),
  ]);
  return `<?xml version="1.0" encoding="utf-8"?>${soap}`;
}

function messageId(fixed: string | undefined): string {
  const id = fixed ?? randomUUID();
  return id.startsWith('uuid:') ? id : `uuid:${id}`;
}

function envelopeSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new RangeError(`maxEnvelopeSize must be a positive whole number of bytes, got ${bytes}`);
  }
  return String(bytes);
}

/** An xs:duration in seconds, as w:OperationTimeout wants it (`PT20S`). */
function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new RangeError(`operationTimeoutSec must be a positive number of seconds, got ${seconds}`);
  }
  return `PT${seconds}S`;
}
