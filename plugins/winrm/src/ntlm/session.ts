/**
 * NTLM message confidentiality and integrity after authentication (MS-NLMP 3.4.3, 3.4.4.2): RC4
 * sealing with one keystream per direction, HMAC-MD5 signatures with sequence numbers, under
 * extended session security and key exchange.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Side, sealKey, signKey } from './keys.js';
import { NtlmError } from './messages.js';
import { Rc4 } from './rc4.js';

export interface NtlmSession {
  /** Seals an outgoing message (RC4 with this side's sealing key) and signs it; advances this side's sequence number. */
  seal(message: Buffer): { signature: Buffer /* 16 bytes */; sealed: Buffer };
  /** Unseals an incoming message and verifies its signature and sequence number; throws NtlmError on mismatch. */
  unseal(sealed: Buffer, signature: Buffer): Buffer;
}

const SIGNATURE_LENGTH = 16;
const SIGNATURE_VERSION = 1;

/** One direction: its signing key, its running RC4 handle and its next sequence number. */
interface Direction {
  signingKey: Buffer;
  sealing: Rc4;
  sequence: number;
}

function direction(exportedSessionKey: Buffer, sender: Side): Direction {
  return {
    signingKey: signKey(exportedSessionKey, sender),
    sealing: new Rc4(sealKey(exportedSessionKey, sender)),
    sequence: 0,
  };
}

/** The checksum before encryption: the first 8 bytes of HMAC_MD5(SigningKey, SeqNum || Message). */
function plainChecksum(signingKey: Buffer, sequence: number, message: Buffer): Buffer {
  const seqNum = Buffer.alloc(4);
  seqNum.writeUInt32LE(sequence);
  return createHmac('md5', signingKey).update(seqNum).update(message).digest().subarray(0, 8);
}

class SealingSession implements NtlmSession {
  constructor(
    private readonly outgoing: Direction,
    private incoming: Direction,
  ) {}

  seal(message: Buffer): { signature: Buffer; sealed: Buffer } {
    const { outgoing } = this;
    // Order matters: the message and then the checksum go through the same RC4 stream.
    const sealed = outgoing.sealing.update(message);
    const checksum = outgoing.sealing.update(plainChecksum(outgoing.signingKey, outgoing.sequence, message));
    const signature = Buffer.alloc(SIGNATURE_LENGTH);
    signature.writeUInt32LE(SIGNATURE_VERSION, 0);
    checksum.copy(signature, 4);
    signature.writeUInt32LE(outgoing.sequence, 12);
    outgoing.sequence = (outgoing.sequence + 1) >>> 0;
    return { signature, sealed };
  }

  unseal(sealed: Buffer, signature: Buffer): Buffer {
    if (signature.length !== SIGNATURE_LENGTH || signature.readUInt32LE(0) !== SIGNATURE_VERSION)
      throw new NtlmError('NTLM signature is malformed (expected 16 bytes, version 1)');
    // Work on a copy of the RC4 stream: a rejected message must not desynchronise the next one.
    const sealing = this.incoming.sealing.clone();
    const message = sealing.update(sealed);
    const expected = sealing.update(plainChecksum(this.incoming.signingKey, this.incoming.sequence, message));
    if (!timingSafeEqual(expected, signature.subarray(4, 12)))
      throw new NtlmError('NTLM signature check failed: the message was altered, replayed or reordered');
    const sequence = signature.readUInt32LE(12);
    if (sequence !== this.incoming.sequence)
      throw new NtlmError(
        `NTLM sequence number ${sequence} is out of order (expected ${this.incoming.sequence})`,
      );
    this.incoming = { ...this.incoming, sealing, sequence: (sequence + 1) >>> 0 };
    return message;
  }
}

/** The session of `side` for an established exported session key. */
export function createSession(exportedSessionKey: Buffer, side: Side): NtlmSession {
  const peer: Side = side === 'client' ? 'server' : 'client';
  return new SealingSession(direction(exportedSessionKey, side), direction(exportedSessionKey, peer));
}
