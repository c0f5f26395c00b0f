/**
 * WinRM's HTTP message encryption (MS-WSMV 2.2.9.1.1): on an NTLM-authenticated HTTP connection the
 * SOAP body travels sealed inside a two-part MIME body. The framing matches Windows and pywinrm
 * byte for byte; parsing is lenient about header case and spacing, strict about lengths.
 */
import { NtlmError, type NtlmSession } from './ntlm/index.js';

export const ENCRYPTED_PROTOCOL = 'application/HTTP-SPNEGO-session-encrypted';
export const ENCRYPTED_CONTENT_TYPE =
  'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"';

const BOUNDARY = '--Encrypted Boundary';
const SIGNATURE_LENGTH = 16;

/** The body WinRM sends in place of a SOAP message on an NTLM-authenticated HTTP connection. */
export function encryptMessage(session: NtlmSession, soap: Buffer): Buffer {
  const { signature, sealed } = session.seal(soap);
  const signatureLength = Buffer.alloc(4);
  signatureLength.writeUInt32LE(signature.length);
  const headers =
    `${BOUNDARY}\r\n` +
    `\tContent-Type: ${ENCRYPTED_PROTOCOL}\r\n` +
    `\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${soap.length}\r\n` +
    `${BOUNDARY}\r\n` +
    '\tContent-Type: application/octet-stream\r\n';
  return Buffer.concat([
    Buffer.from(headers, 'latin1'),
    signatureLength,
    signature,
    sealed,
    Buffer.from(`${BOUNDARY}--\r\n`, 'latin1'),
  ]);
}

/** Reverses it; throws NtlmError (clear message) on a malformed body, a length mismatch or a bad signature. */
export function decryptMessage(session: NtlmSession, body: Buffer): Buffer {
  const reader = new BodyReader(body);
  const messages: Buffer[] = [];
  // Windows sends one part pair; more than one (chunked messages) are concatenated, as pywinrm does.
  while (reader.boundary() === 'part') {
    const headers = reader.headersUntilBoundary();
    const length = originalLength(headers);
    if (reader.boundary() !== 'part') throw malformed('the encrypted data part is missing');
    const dataHeaders = reader.headerLines();
    if (!dataHeaders.some((line) => /^content-type\s*:\s*application\/octet-stream\s*$/i.test(line)))
      throw malformed('the data part is not application/octet-stream');
    messages.push(reader.sealedMessage(session, length));
  }
  if (messages.length === 0) throw malformed('no encrypted part');
  return Buffer.concat(messages);
}

function malformed(reason: string): NtlmError {
  return new NtlmError(`malformed encrypted WinRM message: ${reason}`);
}

/** The plaintext length from the first part's headers, which must name our protocol. */
function originalLength(headers: string[]): number {
  const header = (name: string): string | undefined =>
    headers
      .map((line) => /^([^:]+):(.*)$/.exec(line))
      .find((match) => match?.[1]?.trim().toLowerCase() === name)?.[2]
      ?.trim();
  const contentType = header('content-type');
  if (contentType?.toLowerCase() !== ENCRYPTED_PROTOCOL.toLowerCase())
    throw malformed(`unexpected Content-Type ${JSON.stringify(contentType)}, expected ${ENCRYPTED_PROTOCOL}`);
  const original = header('originalcontent');
  const length = original
    ?.split(';')
    .map((parameter) => /^\s*length\s*=\s*(\d+)\s*$/i.exec(parameter)?.[1])
    .find((value) => value !== undefined);
  if (length === undefined) throw malformed('no OriginalContent Length');
  return Number(length);
}

/** A cursor over the MIME body: header lines are text, the sealed data is binary and sized by length. */
class BodyReader {
  private at = 0;

  constructor(private readonly body: Buffer) {}

  /** Consumes a boundary line: 'part' for `--Encrypted Boundary`, 'end' for the closing one. */
  boundary(): 'part' | 'end' {
    const line = this.line();
    if (line === undefined) throw malformed('it ends without the closing boundary');
    if (line.trim() === `${BOUNDARY}--`) return 'end';
    if (line.trim() === BOUNDARY) return 'part';
    throw malformed(`expected "${BOUNDARY}", found ${JSON.stringify(line.slice(0, 60))}`);
  }

  /** Header lines up to the next boundary line, which is left for boundary() to consume. */
  headersUntilBoundary(): string[] {
    const lines: string[] = [];
    for (;;) {
      const start = this.at;
      const line = this.line();
      if (line === undefined) throw malformed('it ends inside the part headers');
      if (line.trim().startsWith(BOUNDARY)) {
        this.at = start;
        return lines;
      }
      if (line.trim() !== '') lines.push(line.trim());
    }
  }

  /** The data part's header lines: non-empty lines with a colon, then an optional empty line. */
  headerLines(): string[] {
    const lines: string[] = [];
    for (;;) {
      const start = this.at;
      const line = this.line();
      if (line !== undefined && line.trim() === '' && lines.length > 0) return lines;
      if (line === undefined || !/^[\t ]*[A-Za-z-]+\s*:/.test(line)) {
        this.at = start;
        return lines;
      }
      lines.push(line.trim());
    }
  }

  /** Signature length, signature and `length` sealed bytes, unsealed and verified. */
  sealedMessage(session: NtlmSession, length: number): Buffer {
    if (this.at + 4 > this.body.length) throw malformed('it ends before the signature length');
    const signatureLength = this.body.readUInt32LE(this.at);
    if (signatureLength !== SIGNATURE_LENGTH)
      throw malformed(`signature length ${signatureLength}, expected ${SIGNATURE_LENGTH}`);
    const signatureEnd = this.at + 4 + SIGNATURE_LENGTH;
    const sealedEnd = signatureEnd + length;
    if (sealedEnd > this.body.length)
      throw malformed(`length mismatch: OriginalContent says ${length} bytes, fewer were sent`);
    const following = this.body.subarray(sealedEnd, sealedEnd + BOUNDARY.length).toString('latin1');
    if (following !== BOUNDARY)
      throw malformed(
        `length mismatch: the encrypted data does not end after OriginalContent Length=${length}`,
      );
    const signature = this.body.subarray(this.at + 4, signatureEnd);
    const sealed = this.body.subarray(signatureEnd, sealedEnd);
    this.at = sealedEnd;
    return session.unseal(sealed, signature);
  }

  /** The next line without its CR LF (a bare LF is accepted too); undefined at the end. */
  private line(): string | undefined {
    if (this.at >= this.body.length) return undefined;
    const newline = this.body.indexOf(0x0a, this.at);
    const end = newline < 0 ? this.body.length : newline;
    const line = this.body.subarray(this.at, end).toString('latin1').replace(/\r$/, '');
    this.at = end + 1;
    return line;
  }
}
