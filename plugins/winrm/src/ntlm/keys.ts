/**
 * NTLMv2 computations (MS-NLMP 3.3.2, 3.4.5): the response key, the challenge responses, and the
 * keys derived from the session key for signing and sealing with extended session security.
 */
import { createHash, createHmac } from 'node:crypto';
import { md4 } from './md4.js';
import { Rc4 } from './rc4.js';

/** Which side's outgoing direction a key protects. */
export type Side = 'client' | 'server';

const hmacMd5 = (key: Buffer, ...data: Buffer[]): Buffer => {
  const hmac = createHmac('md5', key);
  for (const part of data) hmac.update(part);
  return hmac.digest();
};

/** NTOWFv2, also ResponseKeyNT and ResponseKeyLM: the user name is case-insensitive, the domain is not. */
export function ntowfv2(password: string, user: string, domain: string): Buffer {
  const ntHash = md4(Buffer.from(password, 'utf16le'));
  return hmacMd5(ntHash, Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

/**
 * The NTLMv2_CLIENT_CHALLENGE structure ("temp" in 3.3.2): header, timestamp, client challenge,
 * the AV pairs (which end with MsvAvEOL) and four reserved zero bytes.
 */
export function ntlmv2ClientBlob(timestamp: Buffer, clientChallenge: Buffer, avPairs: Buffer): Buffer {
  const header = Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]); // RespType, HiRespType, reserved
  return Buffer.concat([header, timestamp, clientChallenge, Buffer.alloc(4), avPairs, Buffer.alloc(4)]);
}

export interface Ntlmv2Response {
  /** NtChallengeResponse: NTProofStr followed by the client blob. */
  response: Buffer;
  ntProofStr: Buffer;
  sessionBaseKey: Buffer;
}

export function ntlmv2Response(responseKeyNT: Buffer, serverChallenge: Buffer, blob: Buffer): Ntlmv2Response {
  const ntProofStr = hmacMd5(responseKeyNT, serverChallenge, blob);
  return {
    response: Buffer.concat([ntProofStr, blob]),
    ntProofStr,
    sessionBaseKey: hmacMd5(responseKeyNT, ntProofStr),
  };
}

/** LMv2_RESPONSE; sent only when the CHALLENGE has no MsvAvTimestamp (otherwise Z(24)). */
export function lmv2Response(
  responseKeyLM: Buffer,
  serverChallenge: Buffer,
  clientChallenge: Buffer,
): Buffer {
  return Buffer.concat([hmacMd5(responseKeyLM, serverChallenge, clientChallenge), clientChallenge]);
}

/** KXKEY for NTLMv2 is the session base key itself (3.4.5.1). */
export function keyExchangeKey(sessionBaseKey: Buffer): Buffer {
  return sessionBaseKey;
}

/** With KEY_EXCH the client sends its random session key RC4-encrypted under KXKEY; RC4 undoes itself. */
export function encryptRandomSessionKey(keyExchangeKey: Buffer, randomSessionKey: Buffer): Buffer {
  return new Rc4(keyExchangeKey).update(randomSessionKey);
}

export const decryptRandomSessionKey = encryptRandomSessionKey;

const magic = (text: string): Buffer => Buffer.from(`${text}\0`, 'latin1');
const SIGN_MAGIC: Record<Side, Buffer> = {
  client: magic('session key to client-to-server signing key magic constant'),
  server: magic('session key to server-to-client signing key magic constant'),
};
const SEAL_MAGIC: Record<Side, Buffer> = {
  client: magic('session key to client-to-server sealing key magic constant'),
  server: magic('session key to server-to-client sealing key magic constant'),
};

/** SIGNKEY (3.4.5.2) for messages sent by `side`. */
export function signKey(exportedSessionKey: Buffer, side: Side): Buffer {
  return createHash('md5').update(exportedSessionKey).update(SIGN_MAGIC[side]).digest();
}

/** SEALKEY (3.4.5.3) for messages sent by `side`; 128-bit only, the one strength negotiated. */
export function sealKey(exportedSessionKey: Buffer, side: Side): Buffer {
  return createHash('md5').update(exportedSessionKey).update(SEAL_MAGIC[side]).digest();
}

/** The MIC: HMAC_MD5 over all three messages, the AUTHENTICATE with its MIC field zeroed. */
export function messageIntegrityCode(
  exportedSessionKey: Buffer,
  negotiate: Buffer,
  challenge: Buffer,
  authenticateWithZeroMic: Buffer,
): Buffer {
  return hmacMd5(exportedSessionKey, negotiate, challenge, authenticateWithZeroMic);
}
