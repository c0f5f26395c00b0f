import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_FLAGS } from '../../plugins/winrm/src/ntlm/client.js';
import {
  NtlmClient,
  type NtlmCredentials,
  NtlmError,
  NtlmServer,
  type NtlmSession,
  parseAuthHeader,
} from '../../plugins/winrm/src/ntlm/index.js';
import {
  decryptRandomSessionKey,
  encryptRandomSessionKey,
  lmv2Response,
  ntlmv2ClientBlob,
  ntlmv2Response,
  ntowfv2,
  sealKey,
  signKey,
} from '../../plugins/winrm/src/ntlm/keys.js';
import { md4 } from '../../plugins/winrm/src/ntlm/md4.js';
import { decodeAuthenticate } from '../../plugins/winrm/src/ntlm/messages.js';
import { Rc4 } from '../../plugins/winrm/src/ntlm/rc4.js';
import { PythonPeer } from '../helpers/python-peer.js';

// The independent implementation: Debian's python3-ntlm-auth 1.4, run by the system interpreter.

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** Answers randomBytes(8) with the client/server challenge and randomBytes(16) with the session key. */
function fixedRandom(challenge: Buffer, sessionKey: Buffer): (n: number) => Buffer {
  return (n) => {
    if (n === 8) return Buffer.from(challenge);
    if (n === 16) return Buffer.from(sessionKey);
    throw new Error(`unexpected randomBytes(${n})`);
  };
}

describe('MD4 (RFC 1320)', () => {
  // RFC 1320 appendix A.5, the test suite.
  const suite: Array<[string, string]> = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    [
      '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
      'e33b4ddc9c38f2199c3e7b164fcc0536',
    ],
  ];
  it.each(suite)('MD4(%j)', (input, digest) => {
    expect(md4(Buffer.from(input, 'latin1')).toString('hex')).toBe(digest);
  });

  it('gives the NT hash of "Password" (MS-NLMP 4.2.1)', () => {
    expect(md4(Buffer.from('Password', 'utf16le')).toString('hex')).toBe('a4f49c406510bdcab6824ee7c30fd852');
  });
});

describe('RC4', () => {
  const keystream = (key: Buffer, length: number): Buffer => new Rc4(key).update(Buffer.alloc(length));

  // RFC 6229 section 2, keystream at the given offsets.
  it.each([
    ['0102030405', 0, 'b2396305f03dc027ccc3524a0a1118a8'],
    ['0102030405', 16, '6982944f18fc82d589c403a47a0d0919'],
    ['0102030405', 240, '28cb1132c96ce286421dcaadb8b69eae'],
    ['0102030405', 256, '1cfcf62b03eddb641d77dfcf7f8d8c93'],
    ['0102030405', 4096, 'ff25b58995996707e51fbdf08b34d875'],
    ['0102030405060708090a0b0c0d0e0f10', 0, '9ac7cc9a609d1ef7b2932899cde41b97'],
    ['0102030405060708090a0b0c0d0e0f10', 16, '5248c4959014126a6e8a84f11d1a9e1c'],
    ['0102030405060708090a0b0c0d0e0f10', 4096, 'a36a4c301ae8ac13610ccbc12256cacc'],
  ])('key %s, offset %i (RFC 6229)', (key, offset, expected) => {
    expect(
      keystream(hex(key), offset + 16)
        .subarray(offset)
        .toString('hex'),
    ).toBe(expected);
  });

  it.each([
    ['Key', 'Plaintext', 'bbf316e8d940af0ad3'],
    ['Wiki', 'pedia', '1021bf0420'],
    ['Secret', 'Attack at dawn', '45a01f645fc35b383552544b9bf5'],
  ])('the classic vector %s / %s', (key, plaintext, ciphertext) => {
    expect(new Rc4(Buffer.from(key)).update(Buffer.from(plaintext)).toString('hex')).toBe(ciphertext);
  });

  it('is one stream across update() calls, and clone() forks it at the same position', () => {
    const whole = keystream(hex('0102030405'), 300);
    const stream = new Rc4(hex('0102030405'));
    const first = stream.update(Buffer.alloc(7));
    const fork = stream.clone();
    const rest = stream.update(Buffer.alloc(293));
    expect(Buffer.concat([first, rest])).toEqual(whole);
    expect(fork.update(Buffer.alloc(293))).toEqual(rest);
  });
});

// MS-NLMP 4.2.1 common values and 4.2.4 NTLMv2 authentication.
const SPEC = {
  user: 'User',
  domain: 'Domain',
  password: 'Password',
  workstation: 'COMPUTER',
  serverChallenge: hex('0123456789abcdef'),
  clientChallenge: hex('aaaaaaaaaaaaaaaa'),
  randomSessionKey: hex('55555555555555555555555555555555'),
  time: hex('0000000000000000'),
  // 4.2.4.1.3 / 4.2.4.3: MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server", MsvAvEOL.
  serverName: hex('02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000'),
  // 4.2.4.3 CHALLENGE_MESSAGE.
  challenge: hex(`
    4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef
    00000000000000002400240044000000060070170000000f5300650072007600
    6500720002000c0044006f006d00610069006e0001000c005300650072007600
    6500720000000000`),
  // 4.2.4.3 AUTHENTICATE_MESSAGE (its VERSION, bytes 64..72, is the spec's Windows XP).
  authenticate: hex(`
    4e544c4d535350000300000018001800 6c00000054005400840000000c000c00
    48000000080008005400000010001000 5c00000010001000d8000000358288e2
    0501280a0000000f44006f006d006100 69006e00550073006500720043004f00
    4d005000550054004500520086c35097 ac9cec102554764a57cccc19aaaaaaaa
    aaaaaaaa68cd0ab851e51c96aabc927b ebef6a1c010100000000000000000000
    00000000aaaaaaaaaaaaaaaa00000000 02000c0044006f006d00610069006e00
    01000c00530065007200760065007200 0000000000000000c5dad2544fc97990
    94ce1ce90bc9d03e`),
};

describe('MS-NLMP 4.2.4 NTLMv2 vectors', () => {
  const responseKey = ntowfv2(SPEC.password, SPEC.user, SPEC.domain);
  const blob = ntlmv2ClientBlob(SPEC.time, SPEC.clientChallenge, SPEC.serverName);
  const nt = ntlmv2Response(responseKey, SPEC.serverChallenge, blob);

  it('computes ResponseKeyNT (4.2.4.1.1)', () => {
    expect(responseKey.toString('hex')).toBe('0c868a403bfd7a93a3001ef22ef02e3f');
  });

  it('computes the LMv2 response (4.2.4.2.1)', () => {
    expect(lmv2Response(responseKey, SPEC.serverChallenge, SPEC.clientChallenge).toString('hex')).toBe(
      '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa',
    );
  });

  it('computes NTProofStr, the NTLMv2 response and the session base key (4.2.4.1.2, 4.2.4.2.2)', () => {
    expect(nt.ntProofStr.toString('hex')).toBe('68cd0ab851e51c96aabc927bebef6a1c');
    expect(nt.response.toString('hex')).toBe(
      '68cd0ab851e51c96aabc927bebef6a1c01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000' +
        '02000c0044006f006d00610069006e0001000c005300650072007600650072000000000000000000',
    );
    expect(nt.sessionBaseKey.toString('hex')).toBe('8de40ccadbc14a82f15cb0ad0de95ca3');
  });

  it('encrypts the random session key under KXKEY (4.2.4.2.3) and decrypts it back', () => {
    const encrypted = encryptRandomSessionKey(nt.sessionBaseKey, SPEC.randomSessionKey);
    expect(encrypted.toString('hex')).toBe('c5dad2544fc9799094ce1ce90bc9d03e');
    expect(decryptRandomSessionKey(nt.sessionBaseKey, encrypted)).toEqual(SPEC.randomSessionKey);
  });

  function specClient(): NtlmClient {
    const credentials: NtlmCredentials = {
      username: SPEC.user,
      password: SPEC.password,
      domain: SPEC.domain,
      workstation: SPEC.workstation,
    };
    return new NtlmClient(credentials, {
      randomBytes: fixedRandom(SPEC.clientChallenge, SPEC.randomSessionKey),
      now: () => 0n,
    });
  }

  it('builds the 4.2.4.3 AUTHENTICATE message from the 4.2.4.3 CHALLENGE, all but VERSION', () => {
    const client = specClient();
    client.negotiate();
    const { message } = client.authenticate(SPEC.challenge);
    expect(message.length).toBe(SPEC.authenticate.length);
    expect(message.readUInt32LE(60).toString(16)).toBe('e2888235'); // NegotiateFlags
    // Every field descriptor and the whole payload: user, domain, workstation, LM, NT, session key.
    expect(message.subarray(0, 64).toString('hex')).toBe(SPEC.authenticate.subarray(0, 64).toString('hex'));
    expect(message.subarray(72).toString('hex')).toBe(SPEC.authenticate.subarray(72).toString('hex'));
  });

  it('seals and signs "Plaintext" with the client keys (4.2.4.4)', () => {
    const { session } = specClient().authenticate(SPEC.challenge);
    const { sealed, signature } = session.seal(Buffer.from('Plaintext', 'utf16le'));
    expect(sealed.toString('hex')).toBe('54e50165bf1936dc996020c1811b0f06fb5f');
    expect(signature.toString('hex')).toBe('010000007fb38ec5c55d497600000000');
  });

  it('lets the server verify the 4.2.4.3 AUTHENTICATE and unseal the 4.2.4.4 message', () => {
    const server = new NtlmServer({
      lookupPassword: (user, domain) => (user === 'User' && domain === 'Domain' ? 'Password' : undefined),
      testing: { randomBytes: fixedRandom(SPEC.serverChallenge, Buffer.alloc(16)), now: () => 0n },
    });
    server.challenge(specClient().negotiate());
    const { user, domain, session } = server.authenticate(SPEC.authenticate);
    expect({ user, domain }).toEqual({ user: 'User', domain: 'Domain' });
    const plaintext = session.unseal(
      hex('54e50165bf1936dc996020c1811b0f06fb5f'),
      hex('010000007fb38ec5c55d497600000000'),
    );
    expect(plaintext.toString('utf16le')).toBe('Plaintext');
  });
});

const NTLM_AUTH_PEER = `
import json, os, sys, hashlib
from ntlm_auth.ntlm import NtlmContext
from ntlm_auth.session_security import SessionSecurity
from ntlm_auth.messages import AuthenticateMessage, ChallengeMessage, TargetInfo
from ntlm_auth.compute_response import ComputeResponse
from ntlm_auth.constants import SignSealConstants
from ntlm_auth.rc4 import ARC4
import ntlm_auth.compute_hash as compute_hash
import ntlm_auth.compute_keys as compute_keys

contexts, sessions = {}, {}
h = bytes.fromhex

def handle(req):
    op = req['op']
    if op == 'md4':
        return {'digests': [hashlib.new('md4', h(x)).hexdigest() for x in req['inputs']]}
    if op == 'negotiate':
        ctx = NtlmContext(req['user'], req['password'], domain=req['domain'], workstation=req.get('workstation'))
        contexts[req['name']] = ctx
        return {'message': ctx.step().hex()}
    if op == 'authenticate':
        ctx = contexts[req['name']]
        message = ctx.step(h(req['challenge']))
        sessions[req['name']] = ctx._session_security
        return {'message': message.hex()}
    if op == 'session':
        sessions[req['name']] = SessionSecurity(req['flags'], h(req['key']), source=req['source'])
        return {}
    if op == 'wrap':
        sealed, signature = sessions[req['name']].wrap(h(req['message']))
        return {'sealed': sealed.hex(), 'signature': signature.hex()}
    if op == 'unwrap':
        return {'message': sessions[req['name']].unwrap(h(req['sealed']), h(req['signature'])).hex()}
    if op == 'compute':
        user, password, domain = req['user'], req['password'], req['domain']
        server_challenge, client_challenge = h(req['serverChallenge']), h(req['clientChallenge'])
        target_info = TargetInfo()
        target_info.unpack(h(req['targetInfo']))
        nt, session_base_key = ComputeResponse._get_NTLMv2_response(
            user, password, domain, server_challenge, client_challenge, h(req['timestamp']), target_info)
        key = h(req['exportedSessionKey'])
        flags = req['flags']
        return {
            'ntowfv2': compute_hash._ntowfv2(user, password, domain).hex(),
            'lm': ComputeResponse._get_LMv2_response(user, password, domain, server_challenge, client_challenge).hex(),
            'nt': nt.hex(),
            'sessionBaseKey': session_base_key.hex(),
            'encryptedKey': ARC4(session_base_key).update(key).hex(),
            'clientSign': compute_keys.get_sign_key(key, SignSealConstants.CLIENT_SIGNING).hex(),
            'serverSign': compute_keys.get_sign_key(key, SignSealConstants.SERVER_SIGNING).hex(),
            'clientSeal': compute_keys.get_seal_key(flags, key, SignSealConstants.CLIENT_SEALING).hex(),
            'serverSeal': compute_keys.get_seal_key(flags, key, SignSealConstants.SERVER_SEALING).hex(),
        }
    if op == 'authenticate_fixed':
        # ntlm-auth draws its client challenge and session key from os.urandom: pin them.
        fixed = {8: h(req['clientChallenge']), 16: h(req['sessionKey'])}
        real_urandom = os.urandom
        os.urandom = lambda n: fixed[n]
        try:
            message = AuthenticateMessage(req['user'], req['password'], req['domain'], req['workstation'],
                                          ChallengeMessage(h(req['challenge'])), 3)
        finally:
            os.urandom = real_urandom
        return {'lm': message.lm_challenge_response.hex(), 'nt': message.nt_challenge_response.hex(),
                'encryptedKey': message.encrypted_random_session_key.hex()}
    raise ValueError('unknown op ' + op)

for line in sys.stdin:
    request = json.loads(line)
    try:
        reply = dict(ok=True, **handle(request))
    except Exception as error:
        reply = dict(ok=False, error=type(error).__name__ + ': ' + str(error))
    print(json.dumps(reply), flush=True)
`;

describe('interoperability with python ntlm-auth 1.4', () => {
  let workDir: string;
  let peer: PythonPeer;

  beforeAll(() => {
    workDir = mkdtempSync(path.join(tmpdir(), 'rmm-ntlm-'));
    // ntlm-auth hashes with hashlib md4, which OpenSSL 3 keeps in its legacy provider.
    const opensslConf = path.join(workDir, 'openssl.cnf');
    writeFileSync(
      opensslConf,
      [
        'openssl_conf = openssl_init',
        '[openssl_init]',
        'providers = provider_sect',
        '[provider_sect]',
        'default = default_sect',
        'legacy = legacy_sect',
        '[default_sect]',
        'activate = 1',
        '[legacy_sect]',
        'activate = 1',
        '',
      ].join('\n'),
    );
    peer = new PythonPeer(NTLM_AUTH_PEER, { ...process.env, OPENSSL_CONF: opensslConf });
  });

  afterAll(() => {
    peer?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  const users: Record<string, string> = { vagrant: 'S3cret pässword!' };
  const newServer = (): NtlmServer =>
    new NtlmServer({
      lookupPassword: (user) => users[user.toLowerCase()],
      targetName: 'WINRM-PEER',
      computerName: 'WINRM-PEER',
    });

  async function pythonHandshake(
    name: string,
    password: string,
    server: NtlmServer,
    domain = '',
  ): Promise<{ negotiate: Buffer; challenge: Buffer; authenticate: Buffer }> {
    const negotiate = hex(
      (await peer.call({ op: 'negotiate', name, user: 'vagrant', password, domain })).message ?? '',
    );
    const challenge = server.challenge(negotiate);
    const reply = await peer.call({ op: 'authenticate', name, challenge: challenge.toString('hex') });
    return { negotiate, challenge, authenticate: hex(reply.message ?? '') };
  }

  it('agrees with hashlib MD4 on inputs around the block boundaries', async () => {
    const inputs = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000].map((length) =>
      Buffer.from(Array.from({ length }, (_, i) => (i * 37 + length) & 0xff)),
    );
    const { digests } = (await peer.call({
      op: 'md4',
      inputs: inputs.map((input) => input.toString('hex')),
    })) as unknown as {
      digests: string[];
    };
    expect(inputs.map((input) => md4(input).toString('hex'))).toEqual(digests);
  });

  it('authenticates the ntlm-auth client (with its MIC) and exchanges sealed messages both ways', async () => {
    const server = newServer();
    const { authenticate } = await pythonHandshake('good', users.vagrant ?? '', server);
    // Our CHALLENGE carries a timestamp, so ntlm-auth must have added a MIC for the server to check.
    expect(decodeAuthenticate(authenticate).mic?.equals(Buffer.alloc(16))).toBe(false);
    const { user, domain, session } = server.authenticate(authenticate);
    expect({ user, domain }).toEqual({ user: 'vagrant', domain: '' });

    for (let round = 0; round < 4; round++) {
      const fromPython = Buffer.from(`<s:Envelope>request ${round} ${'x'.repeat(round * 50)}</s:Envelope>`);
      const wrapped = await peer.call({ op: 'wrap', name: 'good', message: fromPython.toString('hex') });
      expect(session.unseal(hex(wrapped.sealed ?? ''), hex(wrapped.signature ?? ''))).toEqual(fromPython);

      const toPython = Buffer.from(`<s:Envelope>response ${round} é</s:Envelope>`);
      const { sealed, signature } = session.seal(toPython);
      const unwrapped = await peer.call({
        op: 'unwrap',
        name: 'good',
        sealed: sealed.toString('hex'),
        signature: signature.toString('hex'),
      });
      expect(hex(unwrapped.message ?? '')).toEqual(toPython);
    }
  });

  it('accepts a domain-qualified ntlm-auth client', async () => {
    const server = newServer();
    const { authenticate } = await pythonHandshake('domain', users.vagrant ?? '', server, 'WINRM-PEER');
    expect(server.authenticate(authenticate).domain).toBe('WINRM-PEER');
  });

  it('refuses an ntlm-auth client with the wrong password', async () => {
    const server = newServer();
    const { authenticate } = await pythonHandshake('bad', 'not the password', server);
    expect(() => server.authenticate(authenticate)).toThrow(/authentication failed for vagrant/);
  });

  it('refuses an ntlm-auth AUTHENTICATE whose MIC was altered', async () => {
    const server = newServer();
    const { authenticate } = await pythonHandshake('mic', users.vagrant ?? '', server);
    const altered = Buffer.from(authenticate);
    altered[72] = (altered[72] ?? 0) ^ 0x01; // the MIC's first byte
    expect(() => server.authenticate(altered)).toThrow(/MIC does not match/);
  });

  it('computes NTLMv2 responses and keys as ntlm-auth does for the same inputs', async () => {
    const inputs = {
      user: 'Administrator',
      password: 'Pa55w0rd€',
      domain: 'CONTOSO',
      serverChallenge: hex('1122334455667788'),
      clientChallenge: hex('a1a2a3a4a5a6a7a8'),
      timestamp: hex('00e1bd4d5e85d901'),
      targetInfo: hex('02000e0043004f004e0054004f0053004f00 07000800 00e1bd4d5e85d901 00000000'),
      exportedSessionKey: hex('000102030405060708090a0b0c0d0e0f'),
    };
    const python = await peer.call({
      op: 'compute',
      ...Object.fromEntries(
        Object.entries(inputs).map(([key, value]) => [
          key,
          Buffer.isBuffer(value) ? value.toString('hex') : value,
        ]),
      ),
      flags: CLIENT_FLAGS,
    });
    const responseKey = ntowfv2(inputs.password, inputs.user, inputs.domain);
    const nt = ntlmv2Response(
      responseKey,
      inputs.serverChallenge,
      ntlmv2ClientBlob(inputs.timestamp, inputs.clientChallenge, inputs.targetInfo),
    );
    const key = inputs.exportedSessionKey;
    expect({
      ntowfv2: responseKey.toString('hex'),
      lm: lmv2Response(responseKey, inputs.serverChallenge, inputs.clientChallenge).toString('hex'),
      nt: nt.response.toString('hex'),
      sessionBaseKey: nt.sessionBaseKey.toString('hex'),
      encryptedKey: encryptRandomSessionKey(nt.sessionBaseKey, key).toString('hex'),
      clientSign: signKey(key, 'client').toString('hex'),
      serverSign: signKey(key, 'server').toString('hex'),
      clientSeal: sealKey(key, 'client').toString('hex'),
      serverSeal: sealKey(key, 'server').toString('hex'),
    }).toEqual({ ...python, ok: undefined });
  });

  it("builds the same responses as ntlm-auth against our server's CHALLENGE, and its session interoperates", async () => {
    const clientChallenge = hex('0102030405060708');
    const sessionKey = hex('f0e1d2c3b4a5968778695a4b3c2d1e0f');
    const credentials = {
      username: 'vagrant',
      password: users.vagrant ?? '',
      domain: 'WINRM-PEER',
      workstation: 'LAPTOP',
    };
    const server = newServer();
    const client = new NtlmClient(credentials, { randomBytes: fixedRandom(clientChallenge, sessionKey) });
    const challenge = server.challenge(client.negotiate());
    const { message, session } = client.authenticate(challenge);

    const python = await peer.call({
      op: 'authenticate_fixed',
      user: credentials.username,
      password: credentials.password,
      domain: credentials.domain,
      workstation: credentials.workstation,
      challenge: challenge.toString('hex'),
      clientChallenge: clientChallenge.toString('hex'),
      sessionKey: sessionKey.toString('hex'),
    });
    const field = (at: number): string =>
      message
        .subarray(message.readUInt32LE(at + 4), message.readUInt32LE(at + 4) + message.readUInt16LE(at))
        .toString('hex');
    expect({ lm: field(12), nt: field(20), encryptedKey: field(52) }).toEqual({
      lm: python.lm,
      nt: python.nt,
      encryptedKey: python.encryptedKey,
    });
    expect(server.authenticate(message).user).toBe('vagrant');

    // ntlm-auth playing the server side of our client's session.
    await peer.call({
      op: 'session',
      name: 'our-client',
      flags: message.readUInt32LE(60),
      key: sessionKey.toString('hex'),
      source: 'server',
    });
    for (let round = 0; round < 3; round++) {
      const request = Buffer.from(`request ${round}`);
      const { sealed, signature } = session.seal(request);
      const unwrapped = await peer.call({
        op: 'unwrap',
        name: 'our-client',
        sealed: sealed.toString('hex'),
        signature: signature.toString('hex'),
      });
      expect(hex(unwrapped.message ?? '')).toEqual(request);
      const response = Buffer.from(`response ${round}`);
      const wrapped = await peer.call({ op: 'wrap', name: 'our-client', message: response.toString('hex') });
      expect(session.unseal(hex(wrapped.sealed ?? ''), hex(wrapped.signature ?? ''))).toEqual(response);
    }
  });
});

describe('client and server in-process', () => {
  const password = 'correct horse';
  const lookupPassword = (user: string, domain: string): string | undefined =>
    user.toLowerCase() === 'operator' && domain === 'LAB' ? password : undefined;

  function handshake(credentials: NtlmCredentials = { username: 'LAB\\operator', password }): {
    client: NtlmSession;
    server: NtlmSession;
  } {
    const client = new NtlmClient(credentials);
    const server = new NtlmServer({ lookupPassword, targetName: 'LAB', computerName: 'PEER' });
    const challenge = server.challenge(client.negotiate());
    const { message, session } = client.authenticate(challenge);
    return { client: session, server: server.authenticate(message).session };
  }

  it('carries many messages each way, with advancing sequence numbers', () => {
    const { client, server } = handshake();
    for (let i = 0; i < 60; i++) {
      const request = Buffer.from(`request ${i} `.repeat(i));
      const sealedRequest = client.seal(request);
      expect(sealedRequest.signature.readUInt32LE(12)).toBe(i);
      if (request.length > 16) expect(sealedRequest.sealed.equals(request)).toBe(false);
      expect(server.unseal(sealedRequest.sealed, sealedRequest.signature)).toEqual(request);
      // The server answers every other time, so the two directions' numbers drift apart.
      if (i % 2 === 0) {
        const response = Buffer.from(`response ${i}`);
        const sealedResponse = server.seal(response);
        expect(sealedResponse.signature.readUInt32LE(12)).toBe(i / 2);
        expect(client.unseal(sealedResponse.sealed, sealedResponse.signature)).toEqual(response);
      }
    }
  });

  it('rejects altered signatures and sealed bytes, and a rejection does not break the session', () => {
    const { client, server } = handshake();
    const { sealed, signature } = client.seal(Buffer.from('important'));
    for (const offset of [0, 4, 11, 12]) {
      const bad = Buffer.from(signature);
      bad[offset] = (bad[offset] ?? 0) ^ 0x80;
      expect(() => server.unseal(sealed, bad)).toThrow(NtlmError);
    }
    const badSealed = Buffer.from(sealed);
    badSealed[3] = (badSealed[3] ?? 0) ^ 0x01;
    expect(() => server.unseal(badSealed, signature)).toThrow(/signature check failed/);
    expect(() => server.unseal(sealed, signature.subarray(0, 15))).toThrow(/malformed/);
    expect(server.unseal(sealed, signature).toString()).toBe('important');
  });

  it('rejects replayed and reordered messages', () => {
    const { client, server } = handshake();
    const first = client.seal(Buffer.from('first'));
    const second = client.seal(Buffer.from('second'));
    expect(() => server.unseal(second.sealed, second.signature)).toThrow(NtlmError);
    expect(server.unseal(first.sealed, first.signature).toString()).toBe('first');
    expect(() => server.unseal(first.sealed, first.signature)).toThrow(NtlmError);
    expect(server.unseal(second.sealed, second.signature).toString()).toBe('second');
    // A message sealed for the other direction is not accepted either.
    const reflected = server.seal(Buffer.from('reflected'));
    expect(() => server.unseal(reflected.sealed, reflected.signature)).toThrow(NtlmError);
  });

  it('refuses a wrong password, an unknown user, and a replayed AUTHENTICATE', () => {
    const server = new NtlmServer({ lookupPassword });
    const wrong = new NtlmClient({ username: 'operator', domain: 'LAB', password: 'wrong' });
    const challenge = server.challenge(wrong.negotiate());
    expect(() => server.authenticate(wrong.authenticate(challenge).message)).toThrow(
      /authentication failed for LAB\\operator/,
    );

    const stranger = new NtlmClient({ username: 'nobody', domain: 'LAB', password });
    expect(() =>
      server.authenticate(stranger.authenticate(server.challenge(stranger.negotiate())).message),
    ).toThrow(/authentication failed/);

    const good = new NtlmClient({ username: 'operator', domain: 'LAB', password });
    const { message } = good.authenticate(server.challenge(good.negotiate()));
    expect(server.authenticate(message).user).toBe('operator');
    expect(() => server.authenticate(message)).toThrow(/without a preceding CHALLENGE/);
  });

  it('refuses an AUTHENTICATE whose response or (through the MIC) user name was altered', () => {
    const alterations = [
      { field: 20, byte: (b: number) => b ^ 0xff, error: /authentication failed for LAB\\operator/ },
      // The user name's case does not enter NTOWFv2, so only the MIC notices this change.
      { field: 36, byte: () => 'O'.charCodeAt(0), error: /MIC does not match/ },
    ];
    for (const { field, byte, error } of alterations) {
      const server = new NtlmServer({ lookupPassword });
      const client = new NtlmClient({ username: 'operator', domain: 'LAB', password });
      const { message } = client.authenticate(server.challenge(client.negotiate()));
      const altered = Buffer.from(message);
      const offset = message.readUInt32LE(field + 4);
      altered[offset] = byte(altered[offset] ?? 0);
      expect(() => server.authenticate(altered)).toThrow(error);
    }
  });

  it('splits DOMAIN\\user and uses an explicit domain as given', () => {
    const seen: Array<[string, string]> = [];
    const server = new NtlmServer({
      lookupPassword: (user, domain) => {
        seen.push([user, domain]);
        return password;
      },
    });
    for (const credentials of [
      { username: 'LAB\\operator', password },
      { username: 'operator@lab.example', password },
      { username: 'operator', domain: 'LAB', password },
    ]) {
      const client = new NtlmClient(credentials);
      server.authenticate(client.authenticate(server.challenge(client.negotiate())).message);
    }
    expect(seen).toEqual([
      ['operator', 'LAB'],
      ['operator@lab.example', ''],
      ['operator', 'LAB'],
    ]);
  });
});

describe('malformed and unsupported NTLM messages', () => {
  const lookupPassword = (): string => 'pw';
  const newPair = (): { client: NtlmClient; server: NtlmServer } => ({
    client: new NtlmClient({ username: 'u', password: 'pw' }),
    server: new NtlmServer({ lookupPassword }),
  });

  it('rejects every truncation of CHALLENGE and AUTHENTICATE with NtlmError', () => {
    const { client, server } = newPair();
    const challenge = server.challenge(client.negotiate());
    for (let length = 0; length < challenge.length; length++)
      expect(() => newPair().client.authenticate(challenge.subarray(0, length))).toThrow(NtlmError);

    const { message } = client.authenticate(challenge);
    for (let length = 0; length < message.length; length++) {
      const pair = newPair();
      pair.server.challenge(pair.client.negotiate());
      expect(() => pair.server.authenticate(message.subarray(0, length))).toThrow(NtlmError);
    }
  });

  it('rejects a NEGOTIATE shorter than its flags', () => {
    const negotiate = newPair().client.negotiate();
    for (let length = 0; length < 16; length++)
      expect(() => newPair().server.challenge(negotiate.subarray(0, length))).toThrow(NtlmError);
  });

  it('rejects a wrong signature, a wrong message type and a SPNEGO token', () => {
    const { client, server } = newPair();
    const negotiate = client.negotiate();
    const badSignature = Buffer.from(negotiate);
    badSignature.write('NTLMSSX', 0, 'latin1');
    expect(() => server.challenge(badSignature)).toThrow(/"NTLMSSP\\0" signature/);
    const challenge = server.challenge(negotiate);
    expect(() => server.challenge(challenge)).toThrow(
      /expected an NTLM NEGOTIATE message, got message type 2/,
    );
    expect(() => client.authenticate(negotiate)).toThrow(
      /expected an NTLM CHALLENGE message, got message type 1/,
    );
    expect(() => client.authenticate(Buffer.from('6082010006062b0601050502a0', 'hex'))).toThrow(/SPNEGO/);
  });

  it('refuses to negotiate anything but NTLMv2 session security', () => {
    const { client, server } = newPair();
    const negotiate = client.negotiate();
    const withoutSealing = Buffer.from(negotiate);
    withoutSealing.writeUInt32LE((negotiate.readUInt32LE(12) & ~0x20) >>> 0, 12); // drop SEAL
    expect(() => server.challenge(withoutSealing)).toThrow(/NTLMSSP_NEGOTIATE_SEAL/);

    const challenge = server.challenge(negotiate);
    const withoutKeyExchange = Buffer.from(challenge);
    withoutKeyExchange.writeUInt32LE((challenge.readUInt32LE(20) & ~0x40000000) >>> 0, 20); // drop KEY_EXCH
    expect(() => client.authenticate(withoutKeyExchange)).toThrow(
      /did not agree to NTLMSSP_NEGOTIATE_KEY_EXCH/,
    );
  });

  it('throws only NtlmError on arbitrary bytes after a valid header', () => {
    const header = (type: number): Buffer => {
      const bytes = Buffer.alloc(12);
      bytes.write('NTLMSSP\0', 0, 'latin1');
      bytes.writeUInt32LE(type, 8);
      return bytes;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(1, 2, 3), (tail, type) => {
        const message = Buffer.concat([header(type), Buffer.from(tail)]);
        const { client, server } = newPair();
        for (const attempt of [
          () => client.authenticate(message),
          () => server.challenge(message),
          () => {
            server.challenge(client.negotiate());
            server.authenticate(message);
          },
        ]) {
          try {
            attempt();
          } catch (error) {
            if (!(error instanceof NtlmError)) throw error;
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('parseAuthHeader', () => {
  const token = Buffer.from('NTLMSSP\0\x01\0\0\0', 'latin1');
  const base64 = token.toString('base64');

  it('reads either scheme, in any case, alone or among other challenges', () => {
    expect(parseAuthHeader(`Negotiate ${base64}`)).toEqual({ scheme: 'Negotiate', token });
    expect(parseAuthHeader(`NTLM ${base64}`)).toEqual({ scheme: 'NTLM', token });
    expect(parseAuthHeader(`negotiate ${base64}`)).toEqual({ scheme: 'Negotiate', token });
    expect(parseAuthHeader(`Basic realm="WSMAN", Negotiate ${base64}`)).toEqual({
      scheme: 'Negotiate',
      token,
    });
  });

  it('finds nothing without a token', () => {
    expect(parseAuthHeader(undefined)).toBeUndefined();
    expect(parseAuthHeader('')).toBeUndefined();
    expect(parseAuthHeader('Negotiate')).toBeUndefined();
    expect(parseAuthHeader('Negotiate, Basic realm="WSMAN"')).toBeUndefined();
    expect(parseAuthHeader(`Kerberos ${base64}`)).toBeUndefined();
  });
});
