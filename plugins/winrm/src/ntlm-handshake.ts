import type { Duplex } from 'node:stream';
import { ConnectionError } from './connection-error.js';
import type { RawReply } from './http-post.js';
import { NtlmClient, type NtlmSession, parseAuthHeader } from './ntlm/index.js';

export interface NtlmCredentials {
  user: string;
  password: string;
  domain?: string;
}

/**
 * NTLM: NEGOTIATE -> 401 with CHALLENGE -> AUTHENTICATE, each sent by `post` as an empty POST on
 * the one kept-alive connection. Returns the security context and the socket it belongs to.
 */
export async function ntlmHandshake(
  credentials: NtlmCredentials,
  post: (headers: Record<string, string>) => Promise<RawReply>,
): Promise<{ session: NtlmSession; socket: Duplex }> {
  const client = new NtlmClient({
    username: credentials.user,
    password: credentials.password,
    ...(credentials.domain ? { domain: credentials.domain } : {}),
  });
  const first = await post({ Authorization: `Negotiate ${client.negotiate().toString('base64')}` });
  const challenge = first.status === 401 ? parseAuthHeader(first.wwwAuthenticate) : undefined;
  if (!challenge) {
    if (first.status === 401)
      throw new ConnectionError(
        'auth',
        `the server does not offer NTLM (WWW-Authenticate: ${first.wwwAuthenticate ?? 'none'}); enable Negotiate on the WinRM service`,
        401,
      );
    throw new ConnectionError(
      'http',
      `the server answered the NTLM negotiation with HTTP ${first.status}`,
      first.status,
    );
  }
  let authenticated: { message: Buffer; session: NtlmSession };
  try {
    authenticated = client.authenticate(challenge.token);
  } catch (error) {
    throw new ConnectionError(
      'http',
      `the server's NTLM challenge is unreadable: ${(error as Error).message}`,
      401,
      {
        cause: error,
      },
    );
  }
  const second = await post({
    Authorization: `${challenge.scheme} ${authenticated.message.toString('base64')}`,
  });
  if (second.status === 401)
    throw new ConnectionError('auth', 'the server refused the credentials (HTTP 401)', 401);
  if (second.status >= 300)
    throw new ConnectionError(
      'http',
      `the server answered the NTLM authentication with HTTP ${second.status}`,
      second.status,
    );
  return { session: authenticated.session, socket: second.socket };
}
