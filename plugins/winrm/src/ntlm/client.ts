/**
 * The client half of the NTLM handshake (MS-NLMP 3.1.5): NEGOTIATE out, CHALLENGE in, AUTHENTICATE
 * out, with NTLMv2, key exchange and a MIC, as Windows does it.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import {
  encryptRandomSessionKey,
  keyExchangeKey,
  lmv2Response,
  messageIntegrityCode,
  ntlmv2ClientBlob,
  ntlmv2Response,
  ntowfv2,
} from './keys.js';
import {
  AV_FLAG_MIC_PRESENT,
  AvId,
  type AvPair,
  decodeChallenge,
  encodeAuthenticate,
  encodeAvPairs,
  encodeFiletime,
  encodeNegotiate,
  filetimeNow,
  MIC_OFFSET,
  missingFlags,
  NegotiateFlag,
  NtlmError,
  SESSION_SECURITY_FLAGS,
} from './messages.js';
import { createSession, type NtlmSession } from './session.js';

export interface NtlmCredentials {
  /** `user`, or `DOMAIN\user` when `domain` is not given. */
  username: string;
  password: string;
  domain?: string;
  workstation?: string;
}

export interface NtlmTesting {
  randomBytes?: (n: number) => Buffer;
  /** The current time as a FILETIME (100 ns ticks since 1601). */
  now?: () => bigint;
}

/** What a Windows client offers: session security with 128-bit key exchange, signing and sealing. */
export const CLIENT_FLAGS =
  (NegotiateFlag.NEGOTIATE_56 |
    NegotiateFlag.KEY_EXCH |
    NegotiateFlag.NEGOTIATE_128 |
    NegotiateFlag.VERSION |
    NegotiateFlag.EXTENDED_SESSIONSECURITY |
    NegotiateFlag.ALWAYS_SIGN |
    NegotiateFlag.NTLM |
    NegotiateFlag.SEAL |
    NegotiateFlag.SIGN |
    NegotiateFlag.REQUEST_TARGET |
    NegotiateFlag.OEM |
    NegotiateFlag.UNICODE) >>>
  0;

/** The flags for AUTHENTICATE: what both sides agreed to, Unicode only, our target request kept. */
function authenticateFlags(challengeFlags: number): number {
  let flags = challengeFlags & (CLIENT_FLAGS | NegotiateFlag.TARGET_INFO);
  if (flags & NegotiateFlag.UNICODE) flags &= ~NegotiateFlag.OEM;
  return (flags | NegotiateFlag.REQUEST_TARGET) >>> 0;
}

/** The server's AV pairs with MsvAvFlags announcing our MIC (3.1.5.1.2). */
function withMicFlag(pairs: AvPair[]): AvPair[] {
  const existing = pairs.find((pair) => pair.id === AvId.FLAGS);
  const flags = Buffer.alloc(4);
  flags.writeUInt32LE(
    ((existing?.value.length === 4 ? existing.value.readUInt32LE(0) : 0) | AV_FLAG_MIC_PRESENT) >>> 0,
  );
  const others = pairs.filter((pair) => pair.id !== AvId.FLAGS);
  return [...others, { id: AvId.FLAGS, value: flags }];
}

function splitDomain(credentials: NtlmCredentials): { user: string; domain: string } {
  if (credentials.domain !== undefined) return { user: credentials.username, domain: credentials.domain };
  const slash = credentials.username.indexOf('\\');
  if (slash < 0) return { user: credentials.username, domain: '' };
  return { user: credentials.username.slice(slash + 1), domain: credentials.username.slice(0, slash) };
}

export class NtlmClient {
  private negotiateMessage: Buffer | undefined;
  private readonly randomBytes: (n: number) => Buffer;
  private readonly now: () => bigint;

  constructor(
    private readonly credentials: NtlmCredentials,
    testing: NtlmTesting = {},
  ) {
    this.randomBytes = testing.randomBytes ?? cryptoRandomBytes;
    this.now = testing.now ?? filetimeNow;
  }

  /** The type 1 message; kept because the MIC covers it. */
  negotiate(): Buffer {
    this.negotiateMessage = encodeNegotiate(CLIENT_FLAGS);
    return this.negotiateMessage;
  }

  /** The type 3 message answering `challenge`, and this client's session for the connection. */
  authenticate(challenge: Buffer): { message: Buffer; session: NtlmSession } {
    const negotiate = this.negotiateMessage ?? this.negotiate();
    const decoded = decodeChallenge(challenge);
    const missing = missingFlags(decoded.flags, SESSION_SECURITY_FLAGS | NegotiateFlag.UNICODE);
    if (missing.length > 0) throw new NtlmError(`the NTLM server did not agree to ${missing.join(', ')}`);

    const { user, domain } = splitDomain(this.credentials);
    const responseKey = ntowfv2(this.credentials.password, user, domain);
    const clientChallenge = this.randomBytes(8);
    // A server timestamp means a modern server: use its time, send Z(24) for LM and add a MIC.
    const serverTimestamp = decoded.targetInfo.find((pair) => pair.id === AvId.TIMESTAMP)?.value;
    const withMic = serverTimestamp !== undefined;
    const avPairs = withMic ? withMicFlag(decoded.targetInfo) : decoded.targetInfo;
    const timestamp = serverTimestamp ?? encodeFiletime(this.now());
    const blob = ntlmv2ClientBlob(timestamp, clientChallenge, encodeAvPairs(avPairs));
    const nt = ntlmv2Response(responseKey, decoded.serverChallenge, blob);

    const exportedSessionKey = this.randomBytes(16);
    const message = encodeAuthenticate({
      flags: authenticateFlags(decoded.flags),
      lmChallengeResponse: withMic
        ? Buffer.alloc(24)
        : lmv2Response(responseKey, decoded.serverChallenge, clientChallenge),
      ntChallengeResponse: nt.response,
      domain,
      user,
      workstation: this.credentials.workstation ?? '',
      encryptedRandomSessionKey: encryptRandomSessionKey(
        keyExchangeKey(nt.sessionBaseKey),
        exportedSessionKey,
      ),
      ...(withMic ? { mic: Buffer.alloc(16) } : {}),
    });
    if (withMic)
      messageIntegrityCode(exportedSessionKey, negotiate, challenge, message).copy(message, MIC_OFFSET);
    return { message, session: createSession(exportedSessionKey, 'client') };
  }
}
