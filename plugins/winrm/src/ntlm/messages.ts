/**
 * The NTLMSSP wire format (MS-NLMP 2.2): NEGOTIATE, CHALLENGE and AUTHENTICATE messages, AV pairs,
 * and the HTTP `Authorization`/`WWW-Authenticate` headers that carry them. Decoders check every
 * length and offset and throw NtlmError, because the bytes come from the network.
 */

export class NtlmError extends Error {
  override name = 'NtlmError';
}

/** The NegotiateFlags bits this module uses (MS-NLMP 2.2.2.5). */
export const NegotiateFlag = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  SIGN: 0x00000010,
  SEAL: 0x00000020,
  NTLM: 0x00000200,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;

/** What both sides need for the only mode supported: NTLMv2 session security with sealing. */
export const SESSION_SECURITY_FLAGS =
  (NegotiateFlag.EXTENDED_SESSIONSECURITY |
    NegotiateFlag.KEY_EXCH |
    NegotiateFlag.NEGOTIATE_128 |
    NegotiateFlag.SIGN |
    NegotiateFlag.SEAL) >>>
  0;

/** The names of the `required` flags missing from `flags`, for error messages. */
export function missingFlags(flags: number, required: number): string[] {
  return Object.entries(NegotiateFlag)
    .filter(([, bit]) => (required & bit) !== 0 && (flags & bit) === 0)
    .map(([name]) => `NTLMSSP_NEGOTIATE_${name}`);
}

/** AV_PAIR ids (MS-NLMP 2.2.2.1). */
export const AvId = {
  EOL: 0,
  NB_COMPUTER_NAME: 1,
  NB_DOMAIN_NAME: 2,
  DNS_COMPUTER_NAME: 3,
  DNS_DOMAIN_NAME: 4,
  DNS_TREE_NAME: 5,
  FLAGS: 6,
  TIMESTAMP: 7,
  SINGLE_HOST: 8,
  TARGET_NAME: 9,
  CHANNEL_BINDINGS: 10,
} as const;

/** MsvAvFlags bit: the AUTHENTICATE message carries a MIC. */
export const AV_FLAG_MIC_PRESENT = 0x2;

export interface AvPair {
  id: number;
  value: Buffer;
}

/** Our VERSION structure: Windows 10.0 build 20348, NTLMSSP revision 15 (debugging only). */
export const OUR_VERSION = Buffer.from([10, 0, 0x7c, 0x4f, 0, 0, 0, 15]);

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
const MessageType = { NEGOTIATE: 1, CHALLENGE: 2, AUTHENTICATE: 3 } as const;
const MESSAGE_NAMES = ['', 'NEGOTIATE', 'CHALLENGE', 'AUTHENTICATE'];

/** Offset of the MIC in an AUTHENTICATE message, right after the VERSION. */
export const MIC_OFFSET = 72;
const AUTHENTICATE_HEADER = 72;
const AUTHENTICATE_HEADER_WITH_MIC = 88;

// --- AV pairs ---

export function encodeAvPairs(pairs: AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const { id, value } of pairs) {
    if (id === AvId.EOL) continue;
    const header = Buffer.alloc(4);
    header.writeUInt16LE(id, 0);
    header.writeUInt16LE(value.length, 2);
    parts.push(header, value);
  }
  parts.push(Buffer.alloc(4)); // MsvAvEOL
  return Buffer.concat(parts);
}

/** The pairs up to (not including) MsvAvEOL, which must be present. */
export function decodeAvPairs(data: Buffer): AvPair[] {
  const pairs: AvPair[] = [];
  let at = 0;
  while (at + 4 <= data.length) {
    const id = data.readUInt16LE(at);
    const length = data.readUInt16LE(at + 2);
    if (id === AvId.EOL) return pairs;
    if (at + 4 + length > data.length) throw new NtlmError('malformed AV pair list: a pair overruns it');
    pairs.push({ id, value: data.subarray(at + 4, at + 4 + length) });
    at += 4 + length;
  }
  throw new NtlmError('malformed AV pair list: no MsvAvEOL');
}

export function findAvPair(pairs: AvPair[], id: number): Buffer | undefined {
  return pairs.find((pair) => pair.id === id)?.value;
}

// --- FILETIME ---

const FILETIME_UNIX_EPOCH = 116444736000000000n; // 1970-01-01 in 100 ns ticks since 1601-01-01

export function filetimeNow(): bigint {
  return BigInt(Date.now()) * 10000n + FILETIME_UNIX_EPOCH;
}

export function encodeFiletime(value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(value);
  return bytes;
}

// --- Shared layout helpers ---

function encodeText(text: string, unicode: boolean): Buffer {
  return Buffer.from(text, unicode ? 'utf16le' : 'latin1');
}

function decodeText(bytes: Buffer, unicode: boolean): string {
  return bytes.toString(unicode ? 'utf16le' : 'latin1');
}

/** Checks the signature and type; names SPNEGO tokens so a Kerberos answer is not a mystery. */
function checkHeader(message: Buffer, type: number, minimumLength: number): void {
  const name = MESSAGE_NAMES[type];
  if (message[0] === 0x60 || message[0] === 0xa1)
    throw new NtlmError(
      `expected a raw NTLMSSP ${name} message, got a SPNEGO token (only NTLM is supported)`,
    );
  if (message.length < 12 || !message.subarray(0, 8).equals(SIGNATURE))
    throw new NtlmError(`not an NTLMSSP message (expected ${name}): no "NTLMSSP\\0" signature`);
  const actual = message.readUInt32LE(8);
  if (actual !== type) throw new NtlmError(`expected an NTLM ${name} message, got message type ${actual}`);
  if (message.length < minimumLength)
    throw new NtlmError(
      `truncated NTLM ${name} message: ${message.length} bytes, need at least ${minimumLength}`,
    );
}

/** Reads a (length, maxLength, offset) field descriptor and the bytes it points at. */
function readField(message: Buffer, at: number, what: string): { bytes: Buffer; offset: number } {
  const length = message.readUInt16LE(at);
  const offset = message.readUInt32LE(at + 4);
  if (length === 0) return { bytes: Buffer.alloc(0), offset };
  if (offset + length > message.length) throw new NtlmError(`malformed NTLM message: ${what} overruns it`);
  return { bytes: message.subarray(offset, offset + length), offset };
}

/** Appends the payloads after `header` in order and points each descriptor at its payload. */
function assemble(header: Buffer, fields: Array<{ at: number; bytes: Buffer }>): Buffer {
  const parts = [header];
  let offset = header.length;
  for (const { at, bytes } of fields) {
    header.writeUInt16LE(bytes.length, at);
    header.writeUInt16LE(bytes.length, at + 2);
    header.writeUInt32LE(offset, at + 4);
    parts.push(bytes);
    offset += bytes.length;
  }
  return Buffer.concat(parts);
}

function startMessage(type: number, headerLength: number): Buffer {
  const header = Buffer.alloc(headerLength);
  SIGNATURE.copy(header);
  header.writeUInt32LE(type, 8);
  return header;
}

// --- NEGOTIATE (MS-NLMP 2.2.1.1) ---

export interface NegotiateMessage {
  flags: number;
}

/** A NEGOTIATE without domain or workstation, as Windows sends it. */
export function encodeNegotiate(flags: number): Buffer {
  const header = startMessage(MessageType.NEGOTIATE, 40);
  header.writeUInt32LE(flags >>> 0, 12);
  OUR_VERSION.copy(header, 32);
  return assemble(header, [
    { at: 16, bytes: Buffer.alloc(0) },
    { at: 24, bytes: Buffer.alloc(0) },
  ]);
}

export function decodeNegotiate(message: Buffer): NegotiateMessage {
  // Old clients send only signature, type and flags; the optional fields are not needed here.
  checkHeader(message, MessageType.NEGOTIATE, 16);
  return { flags: message.readUInt32LE(12) };
}

// --- CHALLENGE (MS-NLMP 2.2.1.2) ---

export interface ChallengeMessage {
  flags: number;
  serverChallenge: Buffer;
  targetName: string;
  targetInfo: AvPair[];
}

export function encodeChallenge(challenge: ChallengeMessage): Buffer {
  if (challenge.serverChallenge.length !== 8) throw new RangeError('the server challenge is 8 bytes');
  const header = startMessage(MessageType.CHALLENGE, 56);
  header.writeUInt32LE(challenge.flags >>> 0, 20);
  challenge.serverChallenge.copy(header, 24);
  OUR_VERSION.copy(header, 48);
  return assemble(header, [
    { at: 12, bytes: encodeText(challenge.targetName, true) },
    { at: 40, bytes: encodeAvPairs(challenge.targetInfo) },
  ]);
}

export function decodeChallenge(message: Buffer): ChallengeMessage {
  checkHeader(message, MessageType.CHALLENGE, 48);
  const flags = message.readUInt32LE(20);
  const unicode = (flags & NegotiateFlag.UNICODE) !== 0;
  const targetInfo = readField(message, 40, 'TargetInfo').bytes;
  return {
    flags,
    serverChallenge: Buffer.from(message.subarray(24, 32)),
    targetName: decodeText(readField(message, 12, 'TargetName').bytes, unicode),
    targetInfo: targetInfo.length > 0 ? decodeAvPairs(targetInfo) : [],
  };
}

// --- AUTHENTICATE (MS-NLMP 2.2.1.3) ---

export interface AuthenticateMessage {
  flags: number;
  lmChallengeResponse: Buffer;
  ntChallengeResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Buffer;
  /** The 16 bytes at the MIC position, when the header leaves room for one. */
  mic?: Buffer;
}

/** Encodes with a zeroed MIC when `mic` is given (the caller computes it over this very encoding). */
export function encodeAuthenticate(auth: AuthenticateMessage): Buffer {
  const unicode = (auth.flags & NegotiateFlag.UNICODE) !== 0;
  const header = startMessage(
    MessageType.AUTHENTICATE,
    auth.mic ? AUTHENTICATE_HEADER_WITH_MIC : AUTHENTICATE_HEADER,
  );
  header.writeUInt32LE(auth.flags >>> 0, 60);
  OUR_VERSION.copy(header, 64);
  auth.mic?.copy(header, MIC_OFFSET);
  // Payload order as Windows writes it (and MS-NLMP 4.2.4.3 shows it).
  return assemble(header, [
    { at: 28, bytes: encodeText(auth.domain, unicode) },
    { at: 36, bytes: encodeText(auth.user, unicode) },
    { at: 44, bytes: encodeText(auth.workstation, unicode) },
    { at: 12, bytes: auth.lmChallengeResponse },
    { at: 20, bytes: auth.ntChallengeResponse },
    { at: 52, bytes: auth.encryptedRandomSessionKey },
  ]);
}

export function decodeAuthenticate(message: Buffer): AuthenticateMessage {
  checkHeader(message, MessageType.AUTHENTICATE, 64);
  const flags = message.readUInt32LE(60);
  const unicode = (flags & NegotiateFlag.UNICODE) !== 0;
  const fields = {
    lm: readField(message, 12, 'LmChallengeResponse'),
    nt: readField(message, 20, 'NtChallengeResponse'),
    domain: readField(message, 28, 'DomainName'),
    user: readField(message, 36, 'UserName'),
    workstation: readField(message, 44, 'Workstation'),
    key: readField(message, 52, 'EncryptedRandomSessionKey'),
  };
  // The header is as long as the first payload lets it be; 88 or more means VERSION and MIC are in it.
  const payloadStart = Math.min(
    message.length,
    ...Object.values(fields)
      .filter((field) => field.bytes.length > 0)
      .map((field) => field.offset),
  );
  if (payloadStart < 64)
    throw new NtlmError('malformed NTLM AUTHENTICATE message: a payload overlaps the header');
  const auth: AuthenticateMessage = {
    flags,
    lmChallengeResponse: fields.lm.bytes,
    ntChallengeResponse: fields.nt.bytes,
    domain: decodeText(fields.domain.bytes, unicode),
    user: decodeText(fields.user.bytes, unicode),
    workstation: decodeText(fields.workstation.bytes, unicode),
    encryptedRandomSessionKey: fields.key.bytes,
  };
  if (payloadStart >= AUTHENTICATE_HEADER_WITH_MIC) auth.mic = message.subarray(MIC_OFFSET, MIC_OFFSET + 16);
  return auth;
}

// --- HTTP headers ---

/**
 * Decodes `Authorization: Negotiate|NTLM <base64>` or a `WWW-Authenticate` value (possibly several
 * challenges joined by commas); undefined when no NTLM-capable scheme carries a token.
 */
export function parseAuthHeader(
  value: string | undefined,
): { scheme: 'Negotiate' | 'NTLM'; token: Buffer } | undefined {
  if (!value) return undefined;
  const pattern = /(?:^|,)\s*(negotiate|ntlm)\s+([A-Za-z0-9+/]+={0,2})\s*(?=,|$)/gi;
  for (const match of value.matchAll(pattern)) {
    const token = Buffer.from(match[2] ?? '', 'base64');
    if (token.length === 0) continue;
    return { scheme: match[1]?.toLowerCase() === 'ntlm' ? 'NTLM' : 'Negotiate', token };
  }
  return undefined;
}

/** The header value carrying `token`, e.g. for `Authorization`. */
export function formatAuthHeader(scheme: 'Negotiate' | 'NTLM', token: Buffer): string {
  return `${scheme} ${token.toString('base64')}`;
}
