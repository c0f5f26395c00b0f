/**
 * MD4 (RFC 1320). NTLM's NT hash is MD4 of the UTF-16LE password, and Node 20's OpenSSL 3 no longer
 * offers MD4, so it lives here. Not for any other use: MD4 is broken.
 */

const INITIAL_STATE = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

// Per-round message word order and rotation amounts (RFC 1320 section 3.4).
const ROUND2_ORDER = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
const ROUND3_ORDER = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
const ROUND1_SHIFTS = [3, 7, 11, 19];
const ROUND2_SHIFTS = [3, 5, 9, 13];
const ROUND3_SHIFTS = [3, 9, 11, 15];

const rotl = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;
const f = (x: number, y: number, z: number): number => (x & y) | (~x & z);
const g = (x: number, y: number, z: number): number => (x & y) | (x & z) | (y & z);
const h = (x: number, y: number, z: number): number => x ^ y ^ z;

/** Appends the 0x80 byte, zeros to 56 mod 64, and the bit length as a little-endian uint64. */
function pad(data: Buffer): Buffer {
  const paddedLength = (((data.length + 8) >> 6) + 1) << 6;
  const padded = Buffer.alloc(paddedLength);
  data.copy(padded);
  padded[data.length] = 0x80;
  padded.writeBigUInt64LE(BigInt(data.length) * 8n, paddedLength - 8);
  return padded;
}

export function md4(data: Buffer): Buffer {
  const state = [...INITIAL_STATE] as [number, number, number, number];
  const padded = pad(data);
  const x = new Array<number>(16);
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) x[i] = padded.readUInt32LE(block + i * 4);
    const word = (i: number): number => x[i] ?? 0;
    let [a, b, c, d] = state;
    // Each round updates a, d, c, b in turn; rotating the four names keeps the loop to one line.
    const round = (fn: typeof f, order: (i: number) => number, shifts: number[], constant: number): void => {
      for (let i = 0; i < 16; i++) {
        const t = rotl((a + fn(b, c, d) + word(order(i)) + constant) >>> 0, shifts[i % 4] ?? 0);
        [a, b, c, d] = [d, t, b, c];
      }
    };
    round(f, (i) => i, ROUND1_SHIFTS, 0);
    round(g, (i) => ROUND2_ORDER[i] ?? 0, ROUND2_SHIFTS, 0x5a827999);
    round(h, (i) => ROUND3_ORDER[i] ?? 0, ROUND3_SHIFTS, 0x6ed9eba1);
    state[0] = (state[0] + a) >>> 0;
    state[1] = (state[1] + b) >>> 0;
    state[2] = (state[2] + c) >>> 0;
    state[3] = (state[3] + d) >>> 0;
  }
  const digest = Buffer.alloc(16);
  state.forEach((value, i) => {
    digest.writeUInt32LE(value, i * 4);
  });
  return digest;
}
