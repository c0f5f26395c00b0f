import type { Duplex } from 'node:stream';
import { ConnectionError } from './connection-error.js';
import { decryptMessage } from './encryption.js';
import type { RawReply } from './http-post.js';
import type { NtlmSession } from './ntlm/index.js';

export interface Reply {
  status: number;
  /** The SOAP document, unsealed. */
  body: string;
}

/** What a reply is read against: how its message went out. */
export interface SentMessage {
  /** Whether the message was sealed (NTLM over HTTP). */
  sealed: boolean;
  /** The security context, if one is set up; it unseals encrypted replies. */
  ntlm: NtlmSession | undefined;
  /** The connection the context belongs to, when the message was sent. */
  context: Duplex | undefined;
  payloadBytes: number;
}

/**
 * The SOAP of a reply (200, or 500 with a fault), unsealed. A 401 on a connection other than the
 * context's comes back as `{status: 401}` for the caller to set up a new context and resend;
 * an unsealed reply to a sealed message is a ConnectionError of kind `unsealed`, never read.
 */
export function soapReply(reply: RawReply, sent: SentMessage): Reply {
  const encrypted = reply.contentType.toLowerCase().startsWith('multipart/encrypted');
  // A 401 on a connection other than the context's: the server never had our context (its side
  // closed between two requests), so it did nothing with the message; sendNow sets up a new one.
  if (reply.status === 401 && (!sent.sealed || reply.socket !== sent.context))
    return { status: 401, body: '' };
  // The size is refused before the server reads the message, and nothing of the reply is shown.
  if (reply.status === 413)
    throw new ConnectionError(
      'http',
      `the server refused a ${sent.payloadBytes}-byte message as too large (HTTP 413): lower maxEnvelopeSize to the server's MaxEnvelopeSizekb`,
      413,
    );
  // Once messages are sealed, the server seals every reply on that connection, faults and 401s
  // included: one in clear was written by someone else on the path (a man in the middle injecting
  // error text, or a 401 that would make us send the command again), so it is never read.
  if (sent.sealed && !encrypted) {
    throw new ConnectionError(
      'unsealed',
      `the server answered a sealed message with an unsealed reply (HTTP ${reply.status}); it was not read: on this connection only sealed replies can come from the server, so something on the network path may be tampering`,
      reply.status,
    );
  }
  let text: string;
  if (encrypted) {
    if (!sent.ntlm)
      throw new ConnectionError('http', 'the server sent an encrypted reply without a security context');
    try {
      text = decryptMessage(sent.ntlm, reply.body).toString('utf8');
    } catch (error) {
      throw new ConnectionError(
        'http',
        `the server's encrypted reply is unreadable: ${(error as Error).message}`,
        reply.status,
        {
          cause: error,
        },
      );
    }
  } else text = reply.body.toString('utf8');
  if (reply.status !== 200 && reply.status !== 500)
    throw new ConnectionError(
      'http',
      `HTTP ${reply.status}${text ? `: ${excerpt(text)}` : ''}`,
      reply.status,
    );
  return { status: reply.status, body: text };
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat;
}
