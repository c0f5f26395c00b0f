/**
 * RC4 as a stateful stream: NTLM sealing keeps one keystream running across all messages of a
 * direction. Node 20's OpenSSL 3 no longer offers RC4, so it lives here.
 */
export class Rc4 {
  private readonly state = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Buffer) {
    if (key.length === 0 || key.length > 256) throw new RangeError('RC4 key must be 1 to 256 bytes');
    for (let n = 0; n < 256; n++) this.state[n] = n;
    let j = 0;
    for (let n = 0; n < 256; n++) {
      j = (j + this.s(n) + (key[n % key.length] ?? 0)) & 0xff;
      this.swap(n, j);
    }
  }

  /** Encrypts or decrypts (the same operation) and advances the keystream. */
  update(data: Buffer): Buffer {
    const out = Buffer.alloc(data.length);
    for (let n = 0; n < data.length; n++) {
      this.i = (this.i + 1) & 0xff;
      this.j = (this.j + this.s(this.i)) & 0xff;
      this.swap(this.i, this.j);
      out[n] = (data[n] ?? 0) ^ this.s((this.s(this.i) + this.s(this.j)) & 0xff);
    }
    return out;
  }

  /** An independent copy at the same keystream position, so a failed unseal can be rolled back. */
  clone(): Rc4 {
    const copy = new Rc4(Buffer.alloc(1));
    copy.state.set(this.state);
    copy.i = this.i;
    copy.j = this.j;
    return copy;
  }

  private s(n: number): number {
    return this.state[n] ?? 0;
  }

  private swap(a: number, b: number): void {
    const t = this.s(a);
    this.state[a] = this.s(b);
    this.state[b] = t;
  }
}
