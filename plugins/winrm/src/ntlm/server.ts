/**
 * The server half of the NTLM handshake (MS-NLMP 3.2.5), for a WS-Management test peer: answers a
 * NEGOTIATE with a CHALLENGE carrying target info and a timestamp, then verifies the client's
 * NTLMv2 response (and MIC) against a password it looks up. One instance per connection.
 */
import { randomBytes as cryptoRandomBytes, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import type { NtlmTesting } from './client.js';
import {
  decryptRandomSessionKey,
  keyExchangeKey,
  messageIntegrityCode,
  ntlmv2Response,
  ntowfv2,
} from './keys.js';
import {
  AV_FLAG_MIC_PRESENT,
  AvId,
  decodeAuthenticate,
  decodeAvPairs,
  decodeNegotiate,
  encodeChallenge,
  encodeFiletime,
  filetimeNow,
  findAvPair,
  MIC_OFFSET,
  missingFlags,
  NegotiateFlag,
  NtlmError,
  SESSION_SECURITY_FLAGS,
} from './messages.js';
import { createSession, type NtlmSession } from './session.js';

export interface NtlmServerOptions {
  /** The user's password, or undefined for an unknown user (authentication then fails). */
  lookupPassword(user: string, domain: string): string | undefined;
  /** The NetBIOS/DNS domain name announced; defaults to the computer name (a workgroup server). */
  targetName?: string;
  /** The NetBIOS/DNS computer name announced; defaults to this host's short name in capitals. */
  computerName?: string;
  testing?: NtlmTesting;
}

/** What a standalone Windows server answers: the session security mode and target information. */
const SERVER_FLAGS =
  (SESSION_SECURITY_FLAGS |
    NegotiateFlag.UNICODE |
    NegotiateFlag.REQUEST_TARGET |
    NegotiateFlag.NTLM |
    NegotiateFlag.ALWAYS_SIGN |
    NegotiateFlag.TARGET_TYPE_SERVER |
    NegotiateFlag.TARGET_INFO |
    NegotiateFlag.VERSION) >>>
  0;

/** The part of the NTLMv2 client blob before its AV pairs (3.3.2 "temp"). */
const CLIENT_BLOB_HEADER = 28;

const utf16 = (text: string): Buffer => Buffer.from(text, 'utf16le');

/** The handshake so far, between CHALLENGE and AUTHENTICATE. */
interface Pending {
  negotiate: Buffer;
  challenge: Buffer;
  serverChallenge: Buffer;
}

export class NtlmServer {
  private pending: Pending | undefined;
  private readonly randomBytes: (n: number) => Buffer;
  private readonly now: () => bigint;
  private readonly computerName: string;
  private readonly targetName: string;

  constructor(private readonly options: NtlmServerOptions) {
    this.randomBytes = options.testing?.randomBytes ?? cryptoRandomBytes;
    this.now = options.testing?.now ?? filetimeNow;
    this.computerName =
      options.computerName ?? (hostname().split('.')[0] ?? 'localhost').toUpperCase().slice(0, 15);
    this.targetName = options.targetName ?? this.computerName;
  }

  /** The type 2 message answering `negotiate`; remembers its server challenge for authenticate(). */
  challenge(negotiate: Buffer): Buffer {
    const { flags } = decodeNegotiate(negotiate);
    const missing = missingFlags(flags, SESSION_SECURITY_FLAGS);
    if (missing.length > 0)
      throw new NtlmError(
        `the NTLM client did not offer ${missing.join(', ')} (only NTLMv2 sealing is supported)`,
      );
    const serverChallenge = this.randomBytes(8);
    const challenge = encodeChallenge({
      flags: (SERVER_FLAGS | (flags & NegotiateFlag.NEGOTIATE_56)) >>> 0,
      serverChallenge,
      targetName: this.targetName,
      targetInfo: [
        { id: AvId.NB_DOMAIN_NAME, value: utf16(this.targetName) },
        { id: AvId.NB_COMPUTER_NAME, value: utf16(this.computerName) },
        { id: AvId.DNS_DOMAIN_NAME, value: utf16(this.targetName) },
        { id: AvId.DNS_COMPUTER_NAME, value: utf16(this.computerName) },
        { id: AvId.TIMESTAMP, value: encodeFiletime(this.now()) },
      ],
    });
    this.pending = { negotiate: Buffer.from(negotiate), challenge, serverChallenge };
    return challenge;
  }

  /** Verifies the NTLMv2 response; throws NtlmError('authentication failed ...') on a bad user/password. */
  authenticate(message: Buffer): { user: string; domain: string; session: NtlmSession } {
    const pending = this.pending;
    // A challenge answers one AUTHENTICATE only, so a replayed one finds nothing to match.
    this.pending = undefined;
    if (!pending) throw new NtlmError('NTLM AUTHENTICATE received without a preceding CHALLENGE');
    const auth = decodeAuthenticate(message);
    const { user, domain } = auth;
    const missing = missingFlags(auth.flags, SESSION_SECURITY_FLAGS);
    if (missing.length > 0) throw new NtlmError(`the NTLM client did not agree to ${missing.join(', ')}`);
    if (auth.ntChallengeResponse.length <= 24)
      throw new NtlmError(
        'authentication failed: only NTLMv2 responses are accepted (got NTLMv1 or anonymous)',
      );
    if (auth.ntChallengeResponse.length < 16 + CLIENT_BLOB_HEADER + 4)
      throw new NtlmError('malformed NTLMv2 response: too short');
    if (auth.encryptedRandomSessionKey.length !== 16)
      throw new NtlmError('malformed NTLM AUTHENTICATE message: the encrypted session key is not 16 bytes');

    const failed = new NtlmError(`authentication failed for ${domain ? `${domain}\\` : ''}${user}`);
    const password = this.options.lookupPassword(user, domain);
    if (password === undefined) throw failed;
    const blob = auth.ntChallengeResponse.subarray(16);
    const nt = ntlmv2Response(ntowfv2(password, user, domain), pending.serverChallenge, blob);
    if (!timingSafeEqual(nt.ntProofStr, auth.ntChallengeResponse.subarray(0, 16))) throw failed;

    const exportedSessionKey = decryptRandomSessionKey(
      keyExchangeKey(nt.sessionBaseKey),
      auth.encryptedRandomSessionKey,
    );
    this.verifyMic(auth.mic, blob, exportedSessionKey, pending, message);
    return { user, domain, session: createSession(exportedSessionKey, 'server') };
  }

  /** A client announcing a MIC in its (signed) AV pairs must carry a correct one. */
  private verifyMic(
    mic: Buffer | undefined,
    blob: Buffer,
    exportedSessionKey: Buffer,
    pending: Pending,
    message: Buffer,
  ): void {
    const avFlags = findAvPair(decodeAvPairs(blob.subarray(CLIENT_BLOB_HEADER)), AvId.FLAGS);
    const announced = avFlags?.length === 4 && (avFlags.readUInt32LE(0) & AV_FLAG_MIC_PRESENT) !== 0;
    if (!announced) return;
    if (!mic) throw new NtlmError('authentication failed: the client announced a MIC but sent none');
    const zeroed = Buffer.from(message);
    zeroed.fill(0, MIC_OFFSET, MIC_OFFSET + 16);
    const expected = messageIntegrityCode(exportedSessionKey, pending.negotiate, pending.challenge, zeroed);
    if (!timingSafeEqual(expected, mic))
      throw new NtlmError('authentication failed: the MIC does not match (messages altered in transit)');
  }
}
