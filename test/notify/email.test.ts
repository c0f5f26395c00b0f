import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialPolicy } from '../../src/credentials/policy.js';
import { emailSender } from '../../src/notify/email.js';
import { messageIdOf } from '../../src/notify/email-message.js';
import type { EmailChannelSpec } from '../../src/resources/kinds.js';
import { freePort, type SmtpPeer, startSmtpPeer } from '../helpers/smtp-peer.js';
import { alertOn, notification } from './notifications.js';

/** The email sender against a real SMTP server (aiosmtpd) with STARTTLS and AUTH. */

let peer: SmtpPeer;
let plainPeer: SmtpPeer;
let dir: string;
let policy: CredentialPolicy;
const signal = () => new AbortController().signal;

function passwordRef(value: string, name = 'smtp-password'): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${value}\n`);
  return `file:${file}`;
}

function spec(overrides: Partial<EmailChannelSpec> = {}, on = peer): EmailChannelSpec {
  return {
    host: '127.0.0.1',
    port: on.port,
    from: 'rmm@example.test',
    to: ['oncall@example.test', 'second@example.test'],
    auth: { user: on.user, password: passwordRef(on.password) },
    tls: { caFile: on.caFile },
    timeout: '10s',
    ...overrides,
  };
}

const sender = (overrides: Partial<EmailChannelSpec> = {}, on = peer) =>
  emailSender('oncall-mail', spec(overrides, on), { policy, userAgent: 'rmm/test' });

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rmm-email-'));
  policy = { envPrefixes: ['RMM_'], dirs: [dir] };
  [peer, plainPeer] = await Promise.all([startSmtpPeer(), startSmtpPeer({ tls: false })]);
});
afterAll(async () => {
  await Promise.all([peer?.close(), plainPeer?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('email sender', () => {
  it('sends over STARTTLS with AUTH: subject, body, Message-ID as a mail parser reads them', async () => {
    const content = notification({ alerts: [alertOn('web-01'), alertOn('web-02', { severity: 'Warning' })] });
    const before = peer.messages().length;
    const result = await sender()(content, { signal: signal() });
    expect(result.outcome).toBe('delivered');
    expect(result.answer).toMatch(/^250 2\.0\.0 Ok: queued as \d+$/);
    const mail = peer.messages()[before];
    expect(mail?.tls).toBe(true);
    expect(mail?.authenticated).toBe(true);
    expect(mail?.mailFrom).toBe('rmm@example.test');
    expect(mail?.rcptTos).toEqual(['oncall@example.test', 'second@example.test']);
    expect(mail?.subject).toBe('[Critical] FIRING: 2 alerts of linux-server/cpu-high at site main');
    expect(mail?.messageId).toBe(`<${content.id}@rmm>`);
    expect(mail?.autoSubmitted).toBe('auto-generated');
    expect(mail?.text).toContain('Devices (2): web-01, web-02');
    expect(mail?.text).toContain(
      'web-02 [Warning] cpu-high on web-02: cpu.usage_percent > 90 (since 2026-03-29 01:00:00 UTC)',
    );
    expect(mail?.text).toContain(`notification ${content.id}`);
    expect(mail?.raw).not.toContain(peer.password);
  });

  it('gives every attempt at one notification the same Message-ID', async () => {
    const content = notification();
    const before = peer.messages().length;
    await sender()(content, { signal: signal() });
    await sender()(content, { signal: signal() });
    const ids = peer
      .messages()
      .slice(before)
      .map((mail) => mail.messageId);
    expect(ids).toEqual([`<${content.id}@rmm>`, `<${content.id}@rmm>`]);
  });

  it('refuses a server that offers no STARTTLS: nothing is sent in clear', async () => {
    const result = await sender({ tls: {} }, plainPeer)(notification(), { signal: signal() });
    expect(result.outcome).toBe('retry');
    expect(result.answer).toBe('STARTTLS refused: 454 TLS not available');
    expect(plainPeer.messages()).toEqual([]);
  });

  it('sends in clear only with starttls: off', async () => {
    const result = await sender({ starttls: 'off', tls: {} }, plainPeer)(notification(), {
      signal: signal(),
    });
    expect(result.outcome).toBe('delivered');
    expect(plainPeer.messages().at(-1)?.tls).toBe(false);
  });

  it('verifies the certificate: without the CA file the throwaway certificate is refused', async () => {
    const before = peer.messages().length;
    const result = await sender({ tls: {} })(notification(), { signal: signal() });
    expect(result.outcome).toBe('retry');
    expect(result.answer).toMatch(/certificate/i);
    expect(peer.messages()).toHaveLength(before);
  });

  it('accepts any certificate only with tls.verify: false (lab only)', async () => {
    const before = peer.messages().length;
    const result = await sender({ tls: { verify: false } })(notification(), { signal: signal() });
    expect(result.outcome).toBe('delivered');
    expect(peer.messages()).toHaveLength(before + 1);
  });

  it('refuses a wrong password for good (535), without showing it', async () => {
    const wrong = 'wrong-password-123';
    const result = await sender({ auth: { user: peer.user, password: passwordRef(wrong, 'wrong') } })(
      notification(),
      {
        signal: signal(),
      },
    );
    expect(result.outcome).toBe('rejected');
    expect(result.answer).toMatch(/535/);
    expect(result.answer).not.toContain(wrong);
  });

  it('tries again after a 4xx reply, and gives up for good after a 5xx', async () => {
    peer.replyNext('451 4.3.0 try again later');
    expect(await sender()(notification(), { signal: signal() })).toEqual({
      outcome: 'retry',
      answer: '451 4.3.0 try again later',
    });
    peer.replyNext('554 5.7.1 not from you');
    expect(await sender()(notification(), { signal: signal() })).toEqual({
      outcome: 'rejected',
      answer: '554 5.7.1 not from you',
    });
  });

  it('reports a server nobody answers on as worth another attempt', async () => {
    const result = await sender({ port: await freePort() })(notification(), { signal: signal() });
    expect(result.outcome).toBe('retry');
    expect(result.answer).toMatch(/ECONNREFUSED/);
  });

  it('names an unset password reference, never a value', async () => {
    const result = await sender({ auth: { user: 'rmm', password: 'env:RMM_TEST_UNSET_SMTP' } })(
      notification(),
      {
        signal: signal(),
      },
    );
    expect(result).toEqual({
      outcome: 'retry',
      answer:
        'not sent: credential env:RMM_TEST_UNSET_SMTP: the environment variable RMM_TEST_UNSET_SMTP is not set',
    });
  });
});

describe('Message-ID', () => {
  it('is <id@rmm> for an id that is a dot-atom, and a stable hash otherwise', () => {
    expect(messageIdOf('0f3c-41aa.b2')).toBe('<0f3c-41aa.b2@rmm>');
    const odd = messageIdOf('a b<c>');
    expect(odd).toMatch(/^<[0-9a-f]{64}@rmm>$/);
    expect(messageIdOf('a b<c>')).toBe(odd);
  });
});
