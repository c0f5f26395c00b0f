import { timingSafeEqual } from 'node:crypto';
import {
  NtlmError,
  NtlmServer,
  type NtlmSession,
  parseAuthHeader,
} from '../../../plugins/winrm/src/ntlm/index.js';
import type { AuthScheme, PeerStats } from './types.js';

/**
 * HTTP authentication as a WinRM listener does it. NTLM (inside `Negotiate`, as Windows offers it)
 * authenticates the TCP connection, not a request: after the handshake, requests on that connection
 * carry no Authorization header, and on HTTP their bodies are sealed with the connection's session.
 * Basic authenticates every request; a default listener refuses it on HTTP.
 */

/** Per TCP connection (keep-alive): the handshake in progress or the established NTLM context. */
export interface ConnectionAuth {
  pending?: NtlmServer;
  ntlm?: { user: string; session: NtlmSession };
  /** The Basic user this connection already counted as an authentication. */
  basicUser?: string;
}

export type AuthOutcome =
  /** Go on with the request as `user`; `session` when the connection has an NTLM context. */
  | { kind: 'authenticated'; user: string; session: NtlmSession | undefined }
  /** 401 with this WWW-Authenticate (the NTLM CHALLENGE, or the schemes on offer). */
  | { kind: 'unauthorized'; wwwAuthenticate: string[] };

const NTLM_TYPE_OFFSET = 8;
const NTLM_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

export class Authenticator {
  private readonly schemes: ReadonlySet<AuthScheme>;
  private readonly passwords: Map<string, { user: string; password: string }>;

  constructor(
    users: Record<string, string>,
    schemes: readonly AuthScheme[],
    https: boolean,
    private readonly stats: PeerStats,
  ) {
    // A default HTTP listener refuses Basic (and anything unencrypted): only NTLM is on offer there.
    this.schemes = new Set(https ? schemes : schemes.filter((scheme) => scheme === 'ntlm'));
    this.passwords = new Map(
      Object.entries(users).map(([user, password]) => [user.toLowerCase(), { user, password }]),
    );
  }

  /** The WWW-Authenticate headers of a plain 401. */
  offered(): string[] {
    const offered: string[] = [];
    if (this.schemes.has('ntlm')) offered.push('Negotiate');
    if (this.schemes.has('basic')) offered.push('Basic realm="WSMAN"');
    return offered;
  }

  authenticate(connection: ConnectionAuth, authorization: string | undefined): AuthOutcome {
    const refused: AuthOutcome = { kind: 'unauthorized', wwwAuthenticate: this.offered() };
    if (authorization === undefined) {
      const ntlm = connection.ntlm;
      return ntlm === undefined ? refused : { kind: 'authenticated', user: ntlm.user, session: ntlm.session };
    }
    if (/^basic\s/i.test(authorization)) return this.basic(connection, authorization) ?? refused;
    const parsed = parseAuthHeader(authorization);
    if (parsed === undefined || !this.schemes.has('ntlm')) return refused;
    return this.ntlm(connection, parsed.scheme, parsed.token) ?? refused;
  }

  private basic(connection: ConnectionAuth, authorization: string): AuthOutcome | undefined {
    if (!this.schemes.has('basic')) return undefined;
    const decoded = Buffer.from(authorization.replace(/^basic\s+/i, ''), 'base64');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const account = this.account(decoded.subarray(0, colon).toString('utf8'));
    if (account === undefined || !samePassword(account.password, decoded.subarray(colon + 1)))
      return undefined;
    if (connection.basicUser !== account.user) {
      connection.basicUser = account.user;
      this.stats.authentications++;
    }
    return { kind: 'authenticated', user: account.user, session: connection.ntlm?.session };
  }

  /** NEGOTIATE gets a CHALLENGE; AUTHENTICATE establishes the connection's context or fails with 401. */
  private ntlm(
    connection: ConnectionAuth,
    scheme: 'Negotiate' | 'NTLM',
    token: Buffer,
  ): AuthOutcome | undefined {
    const type = token.subarray(0, 8).equals(NTLM_SIGNATURE) ? token.readUInt32LE(NTLM_TYPE_OFFSET) : 0;
    try {
      if (type === 1) {
        // A new handshake replaces whatever the connection had.
        connection.ntlm = undefined;
        connection.pending = new NtlmServer({
          lookupPassword: (user) => this.account(user)?.password,
          targetName: 'WINRM-PEER',
          computerName: 'WINRM-PEER',
        });
        const challenge = connection.pending.challenge(token);
        // Answered in the scheme the client used; Windows offers (and pywinrm uses) Negotiate.
        return { kind: 'unauthorized', wwwAuthenticate: [`${scheme} ${challenge.toString('base64')}`] };
      }
      if (type === 3 && connection.pending !== undefined) {
        const server = connection.pending;
        connection.pending = undefined;
        const { user, session } = server.authenticate(token);
        const name = this.account(user)?.user ?? user;
        connection.ntlm = { user: name, session };
        this.stats.authentications++;
        return { kind: 'authenticated', user: name, session };
      }
    } catch (error) {
      if (!(error instanceof NtlmError)) throw error;
    }
    connection.pending = undefined;
    return undefined;
  }

  private account(user: string): { user: string; password: string } | undefined {
    return this.passwords.get(user.toLowerCase());
  }
}

/**
 * Basic has no agreed charset: RFC 7617 clients send UTF-8, python-requests sends Latin-1. Which one
 * Windows decodes is not verified here, so either spelling of the password is accepted.
 */
function samePassword(expected: string, given: Buffer): boolean {
  const spellings = [Buffer.from(expected, 'utf8')];
  if ([...expected].every((char) => (char.codePointAt(0) ?? 0) <= 0xff))
    spellings.push(Buffer.from(expected, 'latin1'));
  return spellings.some((spelling) => spelling.length === given.length && timingSafeEqual(spelling, given));
}
