import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialPolicy } from '../../src/credentials/policy.js';
import { webhookSender } from '../../src/notify/webhook.js';
import type { WebhookChannelSpec } from '../../src/resources/kinds.js';
import { waitFor } from '../helpers/wait.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { alertOn, notification } from './notifications.js';

/** The webhook sender against a real loopback receiver that fails on demand. */

const TOKEN = 'T0KEN5ecretXYZ123';
let receiver: WebhookReceiver;
let dir: string;
let policy: CredentialPolicy;
const deps = () => ({ policy, userAgent: 'rmm/test' });
const signal = () => new AbortController().signal;

/** A file: reference to `url`, inside the policy's folder. */
function urlRef(url: string, name = 'hook'): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${url}\n`);
  return `file:${file}`;
}

beforeAll(async () => {
  receiver = await startWebhookReceiver({ path: `/services/${TOKEN}` });
  dir = mkdtempSync(path.join(tmpdir(), 'rmm-webhook-'));
  policy = { envPrefixes: ['RMM_'], dirs: [dir] };
});
afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  receiver.requests.length = 0;
});

const sender = (spec: Partial<WebhookChannelSpec> = {}) =>
  webhookSender('ops', { url: urlRef(receiver.url), ...spec }, deps());

describe('webhook sender', () => {
  it('posts the generic JSON with the idempotency key, and reports the answer', async () => {
    const content = notification();
    const result = await sender()(content, { signal: signal() });
    expect(result).toEqual({ outcome: 'delivered', answer: 'HTTP 200 OK: ok' });
    const [request] = receiver.requests;
    expect(request?.method).toBe('POST');
    expect(request?.headers['idempotency-key']).toBe(content.id);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['user-agent']).toBe('rmm/test');
    const body = JSON.parse(request?.body ?? '');
    expect(body).toMatchObject({
      version: 1,
      id: content.id,
      event: 'fire',
      channel: 'ops',
      group: { site: 'main', source: 'linux-server/cpu-high' },
      severity: 'Critical',
      summary: '[Critical] FIRING: cpu-high on web-01: cpu.usage_percent > 90',
      createdAt: '2026-03-29T01:00:30.000Z',
      alertCount: 1,
    });
    expect(body.alerts).toEqual([alertOn('web-01')]);
  });

  it('sends the same key on every attempt at one notification', async () => {
    const content = notification();
    receiver.failNext({ kind: 'status', status: 503 });
    expect((await sender()(content, { signal: signal() })).outcome).toBe('retry');
    expect((await sender()(content, { signal: signal() })).outcome).toBe('delivered');
    const keys = receiver.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toEqual([content.id, content.id]);
  });

  it.each([
    [500, 'retry'],
    [502, 'retry'],
    [408, 'retry'],
    [429, 'retry'],
    [400, 'rejected'],
    [403, 'rejected'],
    [404, 'rejected'],
  ] as const)(
    'classifies HTTP %i as %s, with the status and the start of the reply',
    async (status, outcome) => {
      receiver.failNext({ kind: 'status', status, body: 'no thanks' });
      const result = await sender()(notification(), { signal: signal() });
      expect(result.outcome).toBe(outcome);
      expect(result.answer).toMatch(new RegExp(`^HTTP ${status} .*: no thanks$`));
    },
  );

  it('does not follow a redirect: the body would go where nobody declared', async () => {
    const other = await startWebhookReceiver();
    try {
      receiver.failNext({ kind: 'status', status: 302, body: '', headers: { location: other.url } });
      const result = await sender()(notification(), { signal: signal() });
      expect(result).toEqual({ outcome: 'rejected', answer: 'HTTP 302 Found' });
      expect(other.requests).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('gives up on a server that does not answer within the timeout, for another attempt', async () => {
    receiver.failNext({ kind: 'hang' });
    const started = Date.now();
    const result = await sender({ timeout: '1s' })(notification(), { signal: signal() });
    expect(result).toEqual({ outcome: 'retry', answer: 'no answer within 1 s (timeout)' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reports a reset connection as worth another attempt', async () => {
    receiver.failNext({ kind: 'reset' });
    const result = await sender()(notification(), { signal: signal() });
    expect(result.outcome).toBe('retry');
    expect(result.answer).toMatch(/^network error: /);
  });

  it('stops when the caller aborts', async () => {
    receiver.failNext({ kind: 'hang' });
    const controller = new AbortController();
    const sending = sender()(notification(), { signal: controller.signal });
    await waitFor('the request to arrive', () => (receiver.requests.length > 0 ? true : undefined));
    controller.abort();
    expect(await sending).toEqual({ outcome: 'retry', answer: 'cancelled before the server answered' });
  });

  it('never shows the URL, which holds the token: not from an echo, nor from a network error', async () => {
    receiver.failNext({ kind: 'status', status: 400, body: `bad hook ${receiver.url} (${TOKEN})` });
    const echoed = await sender()(notification(), { signal: signal() });
    expect(echoed.answer).toContain('bad hook (hidden)');
    expect(echoed.answer).not.toContain(TOKEN);

    const closed = await freePort();
    const refused = await webhookSender(
      'ops',
      { url: urlRef(`http://127.0.0.1:${closed}/services/${TOKEN}`, 'closed') },
      deps(),
    )(notification(), { signal: signal() });
    expect(refused.outcome).toBe('retry');
    expect(refused.answer).toMatch(/ECONNREFUSED/);
    expect(refused.answer).not.toContain(TOKEN);
  });

  it('names a reference that resolves to nothing, or that the console refuses, never a value', async () => {
    const unset = await webhookSender(
      'ops',
      { url: 'env:RMM_TEST_UNSET_HOOK' },
      deps(),
    )(notification(), { signal: signal() });
    expect(unset).toEqual({
      outcome: 'retry',
      answer:
        'not sent: credential env:RMM_TEST_UNSET_HOOK: the environment variable RMM_TEST_UNSET_HOOK is not set',
    });
    const refused = await webhookSender(
      'ops',
      { url: 'env:HOME' },
      deps(),
    )(notification(), { signal: signal() });
    expect(refused.outcome).toBe('retry');
    expect(refused.answer).toMatch(/^not sent: credential env:HOME: refused: .*RMM_/);
    expect(refused.answer).not.toContain(process.env.HOME ?? '/');
  });

  it('refuses a value that is not an http(s) URL without showing it', async () => {
    const result = await webhookSender(
      'ops',
      { url: urlRef(`ftp://example.com/${TOKEN}`, 'ftp') },
      deps(),
    )(notification(), { signal: signal() });
    expect(result.outcome).toBe('retry');
    expect(result.answer).toMatch(/is not an http\(s\) URL/);
    expect(result.answer).not.toContain(TOKEN);
    expect(receiver.requests).toEqual([]);
  });
});

/** A loopback port nothing listens on (taken, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
