import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  decryptMessage,
  ENCRYPTED_CONTENT_TYPE,
  ENCRYPTED_PROTOCOL,
  encryptMessage,
} from '../../plugins/winrm/src/encryption.js';
import { NtlmClient, NtlmError, NtlmServer, type NtlmSession } from '../../plugins/winrm/src/ntlm/index.js';
import { decodeAuthenticate } from '../../plugins/winrm/src/ntlm/messages.js';

// pywinrm 0.3 and ntlm-auth 1.4 from Debian, run by the system interpreter.
const SYSTEM_PYTHON = '/usr/bin/python3';
const SESSION_KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

interface Established {
  client: NtlmSession;
  server: NtlmSession;
  /** The AUTHENTICATE flags, which ntlm-auth's SessionSecurity needs to pick the same keys. */
  flags: number;
}

/** A real handshake between our client and server; the client's random session key is pinned. */
function establish(): Established {
  const client = new NtlmClient(
    { username: 'operator', password: 'pw', domain: 'LAB' },
    { randomBytes: (n) => (n === 16 ? Buffer.from(SESSION_KEY) : Buffer.alloc(n, 7)) },
  );
  const server = new NtlmServer({ lookupPassword: () => 'pw' });
  const { message, session } = client.authenticate(server.challenge(client.negotiate()));
  return {
    client: session,
    server: server.authenticate(message).session,
    flags: decodeAuthenticate(message).flags,
  };
}

const soap = (text: string): Buffer =>
  Buffer.from(`<?xml version="1.0" encoding="utf-8"?><s:Envelope>${text}</s:Envelope>`, 'utf8');

describe('the WinRM encrypted body', () => {
  it('is framed exactly as pywinrm frames it', () => {
    const { client } = establish();
    const message = soap('hello');
    const body = encryptMessage(client, message);
    const head =
      '--Encrypted Boundary\r\n' +
      '\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n' +
      `\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${message.length}\r\n` +
      '--Encrypted Boundary\r\n' +
      '\tContent-Type: application/octet-stream\r\n';
    const tail = '--Encrypted Boundary--\r\n';
    expect(body.subarray(0, head.length).toString('latin1')).toBe(head);
    expect(body.readUInt32LE(head.length)).toBe(16);
    expect(body.length).toBe(head.length + 4 + 16 + message.length + tail.length);
    expect(body.subarray(body.length - tail.length).toString('latin1')).toBe(tail);
    expect(ENCRYPTED_CONTENT_TYPE).toBe(
      `multipart/encrypted;protocol="${ENCRYPTED_PROTOCOL}";boundary="Encrypted Boundary"`,
    );
  });

  it('round-trips many messages each way between our client and server', () => {
    const { client, server } = establish();
    for (let i = 0; i < 30; i++) {
      const request = soap(`request ${i} ${'é'.repeat(i * 7)}`);
      expect(decryptMessage(server, encryptMessage(client, request))).toEqual(request);
      const response = soap(`response ${i}`);
      expect(decryptMessage(client, encryptMessage(server, response))).toEqual(response);
    }
  });

  it('accepts the variations a Windows server may send in the headers', () => {
    const variants: Array<(head: string) => string> = [
      (head) => head.replace('charset=UTF-8', 'charset=utf-8'),
      (head) => head.replace(/;/g, '; ').replace('Length=', 'Length = '),
      (head) => head.replace(/\t/g, '').replace(/Content-Type/g, 'content-type'),
      (head) =>
        head.replace(
          'application/HTTP-SPNEGO-session-encrypted',
          'application/http-spnego-session-encrypted',
        ),
      (head) => head.replace(/\r\n/g, '\n'),
      (head) => `${head}\r\n`, // an empty line before the binary part
    ];
    for (const variant of variants) {
      const { client, server } = establish();
      const message = soap('variant');
      const body = encryptMessage(client, message);
      const binaryStart =
        body.indexOf('application/octet-stream\r\n') + 'application/octet-stream\r\n'.length;
      const head = variant(body.subarray(0, binaryStart).toString('latin1'));
      const varied = Buffer.concat([Buffer.from(head, 'latin1'), body.subarray(binaryStart)]);
      expect(decryptMessage(server, varied)).toEqual(message);
    }
  });

  describe('rejects with NtlmError', () => {
    const message = soap('payload that will be tampered with');

    function expectRejected(alter: (body: Buffer) => Buffer, error: RegExp): void {
      const { client, server } = establish();
      const body = encryptMessage(client, message);
      expect(() => decryptMessage(server, alter(body))).toThrow(NtlmError);
      expect(() => decryptMessage(server, alter(body))).toThrow(error);
      // The failed attempts did not disturb the session: the genuine body still decrypts.
      expect(decryptMessage(server, body)).toEqual(message);
    }
    const replaceText = (body: Buffer, from: string, to: string): Buffer => {
      const at = body.indexOf(from);
      return Buffer.concat([
        body.subarray(0, at),
        Buffer.from(to, 'latin1'),
        body.subarray(at + from.length),
      ]);
    };
    const flipByteFromEnd = (body: Buffer, fromEnd: number): Buffer => {
      const copy = Buffer.from(body);
      const at = copy.length - fromEnd;
      copy[at] = (copy[at] ?? 0) ^ 0x01;
      return copy;
    };
    const tailLength = '--Encrypted Boundary--\r\n'.length;

    it('a sealed byte altered', () => {
      expectRejected((body) => flipByteFromEnd(body, tailLength + 5), /signature check failed/);
    });

    it('a signature byte altered', () => {
      expectRejected(
        (body) => flipByteFromEnd(body, tailLength + message.length + 10),
        /signature check failed/,
      );
    });

    it('a Length that is too small or too large', () => {
      expectRejected(
        (body) => replaceText(body, `Length=${message.length}`, `Length=${message.length - 1}`),
        /length mismatch/,
      );
      expectRejected(
        (body) => replaceText(body, `Length=${message.length}`, `Length=${message.length + 1}`),
        /length mismatch/,
      );
    });

    it('a truncated body', () => {
      const { client, server } = establish();
      const body = encryptMessage(client, message);
      for (let length = 0; length < body.length; length++)
        expect(() => decryptMessage(server, body.subarray(0, length))).toThrow(NtlmError);
    });

    it('a missing Length, a foreign protocol, a foreign part type or a wrong signature length', () => {
      expectRejected(
        (body) => replaceText(body, `;Length=${message.length}`, ''),
        /no OriginalContent Length/,
      );
      expectRejected(
        (body) => replaceText(body, 'HTTP-SPNEGO-session-encrypted', 'HTTP-CredSSP-session-encrypted'),
        /unexpected Content-Type/,
      );
      expectRejected((body) => replaceText(body, 'application/octet-stream', 'text/plain'), /octet-stream/);
      expectRejected((body) => {
        const copy = Buffer.from(body);
        copy.writeUInt32LE(20, body.indexOf('octet-stream\r\n') + 'octet-stream\r\n'.length);
        return copy;
      }, /signature length 20/);
    });

    it('something that is not an encrypted body at all', () => {
      expectRejected(() => soap('plain SOAP'), /expected "--Encrypted Boundary"/);
      expectRejected(() => Buffer.alloc(0), /closing boundary/);
      expectRejected(() => Buffer.from('--Encrypted Boundary--\r\n'), /no encrypted part/);
    });
  });
});

// Decrypts our bodies with pywinrm's Encryption class and encrypts its own, for both roles, using
// ntlm-auth's SessionSecurity keyed with the session key our handshake exported.
const PYWINRM_PEER = `
import json, sys, types, requests
from ntlm_auth.session_security import SessionSecurity
from winrm.encryption import Encryption

request = json.load(sys.stdin)
ENDPOINT = 'http://winrm-peer:5985/wsman'
result = {}
for source in ('client', 'server'):
    security = SessionSecurity(request['flags'], bytes.fromhex(request['key']), source=source)
    encryption = Encryption(types.SimpleNamespace(auth=types.SimpleNamespace(session_security=security)), 'ntlm')
    decrypted = []
    for body in request[source]['decrypt']:
        response = types.SimpleNamespace(
            headers={'Content-Type': request['contentType']}, content=bytes.fromhex(body),
            request=types.SimpleNamespace(url=ENDPOINT), text='')
        decrypted.append(encryption.parse_encrypted_response(response).hex())
    encrypted = []
    for message in request[source]['encrypt']:
        prepared = encryption.prepare_encrypted_request(requests.Session(), ENDPOINT, bytes.fromhex(message))
        encrypted.append({'body': prepared.body.hex(), 'contentType': prepared.headers['Content-Type']})
    result[source] = {'decrypted': decrypted, 'encrypted': encrypted}
print(json.dumps(result))
`;

interface PeerSide {
  decrypted: string[];
  encrypted: Array<{ body: string; contentType: string }>;
}

async function runPywinrm(input: unknown): Promise<Record<'client' | 'server', PeerSide>> {
  const run = promisify(execFile);
  const child = run(SYSTEM_PYTHON, ['-I', '-c', PYWINRM_PEER], {
    timeout: 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  child.child.stdin?.end(JSON.stringify(input));
  const { stdout } = await child;
  return JSON.parse(stdout) as Record<'client' | 'server', PeerSide>;
}

describe('interoperability with pywinrm 0.3 winrm/encryption.py', () => {
  it('decrypts what pywinrm encrypts and the reverse, in both roles, byte for byte', async () => {
    const requests = [soap('Identify'), soap('x'.repeat(40_000)), soap('ünïcödé'), Buffer.alloc(0)];
    const responses = [soap('IdentifyResponse'), soap('y'.repeat(9_999)), soap('ok')];
    const ours = establish();
    const ourRequests = requests.map((message) => encryptMessage(ours.client, message));
    const ourResponses = responses.map((message) => encryptMessage(ours.server, message));

    const peer = await runPywinrm({
      flags: ours.flags,
      key: SESSION_KEY.toString('hex'),
      contentType: ENCRYPTED_CONTENT_TYPE,
      // pywinrm as the client decrypts our server's responses; as the server, our client's requests.
      client: {
        decrypt: ourResponses.map((body) => body.toString('hex')),
        encrypt: requests.map((m) => m.toString('hex')),
      },
      server: {
        decrypt: ourRequests.map((body) => body.toString('hex')),
        encrypt: responses.map((m) => m.toString('hex')),
      },
    });

    expect(peer.server.decrypted).toEqual(requests.map((m) => m.toString('hex')));
    expect(peer.client.decrypted).toEqual(responses.map((m) => m.toString('hex')));
    // Same keys, same sequence: pywinrm's bodies equal ours, header whitespace and all.
    expect(peer.client.encrypted.map((e) => e.body)).toEqual(ourRequests.map((b) => b.toString('hex')));
    expect(peer.server.encrypted.map((e) => e.body)).toEqual(ourResponses.map((b) => b.toString('hex')));
    expect(new Set(peer.client.encrypted.map((e) => e.contentType))).toEqual(
      new Set([ENCRYPTED_CONTENT_TYPE]),
    );

    // And our other pair of sessions decrypts pywinrm's bodies.
    const fresh = establish();
    peer.client.encrypted.forEach(({ body }, i) => {
      expect(decryptMessage(fresh.server, Buffer.from(body, 'hex'))).toEqual(requests[i]);
    });
    peer.server.encrypted.forEach(({ body }, i) => {
      expect(decryptMessage(fresh.client, Buffer.from(body, 'hex'))).toEqual(responses[i]);
    });
  });

  it("refuses pywinrm's body once tampered with", async () => {
    const message = soap('Tamper');
    const peer = await runPywinrm({
      flags: establish().flags,
      key: SESSION_KEY.toString('hex'),
      contentType: ENCRYPTED_CONTENT_TYPE,
      client: { decrypt: [], encrypt: [message.toString('hex')] },
      server: { decrypt: [], encrypt: [] },
    });
    const body = Buffer.from(peer.client.encrypted[0]?.body ?? '', 'hex');
    const tampered = Buffer.from(body);
    const at = body.length - '--Encrypted Boundary--\r\n'.length - 1;
    tampered[at] = (tampered[at] ?? 0) ^ 0x20;
    const { server } = establish();
    expect(() => decryptMessage(server, tampered)).toThrow(/signature check failed/);
    expect(decryptMessage(server, body)).toEqual(message);
  });
});
