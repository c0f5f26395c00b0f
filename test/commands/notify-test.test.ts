import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type SmtpPeer, startSmtpPeer } from '../helpers/smtp-peer.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

/**
 * rmm notify test through the real CLI: channels applied to a real SQLite file, a test message sent
 * to a real loopback webhook receiver and a real SMTP server (aiosmtpd, STARTTLS + AUTH).
 */
let cwd: string;
let receiver: WebhookReceiver;
let smtp: SmtpPeer;
const TOKEN = 'zT0kenInTheUrl9876';
let env: Record<string, string>;
const rmm = (...args: string[]) => runCli(args, { cwd, env });

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-notify-test-'));
  [receiver, smtp] = await Promise.all([startWebhookReceiver({ path: `/hooks/${TOKEN}` }), startSmtpPeer()]);
  env = { RMM_TEST_HOOK: receiver.url, RMM_TEST_SMTP_PASSWORD: smtp.password };
  await writeFile(
    path.join(cwd, 'channels.yaml'),
    `apiVersion: rmm/v1
kind: NotificationChannel
metadata: {name: ops-hook}
spec:
  type: webhook
  webhook: {url: "env:RMM_TEST_HOOK", format: discord}
---
apiVersion: rmm/v1
kind: NotificationChannel
metadata: {name: oncall-mail}
spec:
  type: email
  email:
    host: 127.0.0.1
    port: ${smtp.port}
    from: rmm@example.test
    to: [oncall@example.test]
    auth: {user: ${smtp.user}, password: "env:RMM_TEST_SMTP_PASSWORD"}
    tls: {caFile: ${JSON.stringify(smtp.caFile)}}
`,
  );
  expect((await rmm('init')).exitCode).toBe(0);
  const applied = await rmm('apply', '-f', 'channels.yaml', '--auto-approve');
  expect(applied.exitCode, applied.stderr).toBe(0);
});
afterAll(async () => {
  await Promise.all([receiver?.close(), smtp?.close()]);
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm notify test', () => {
  it('posts a test message to the webhook and prints what the server answered', async () => {
    const result = await rmm('notify', 'test', 'ops-hook');
    expect(result.exitCode, result.stderr).toBe(0);
    const [request] = receiver.requests.slice(-1);
    const id = request?.headers['idempotency-key'];
    expect(result.stdout).toBe(
      `Test notification ${id} over webhook channel ops-hook: delivered\n  answer: HTTP 200 OK: ok`,
    );
    const body = JSON.parse(request?.body ?? '{}');
    expect(body.embeds[0].title).toBe('TEST: rmm test notification for channel ops-hook');
    expect(result.stdout).not.toContain(TOKEN);
  });

  it('sends a test mail over STARTTLS with AUTH, its Message-ID from the printed id', async () => {
    const result = await rmm('notify', 'test', 'oncall-mail', '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    const outcome = JSON.parse(result.stdout);
    expect(outcome).toMatchObject({ channel: 'oncall-mail', type: 'email', outcome: 'delivered' });
    expect(outcome.answer).toMatch(/^250 2\.0\.0 Ok: queued as \d+$/);
    const mail = smtp.messages().at(-1);
    expect(mail?.messageId).toBe(`<${outcome.id}@rmm>`);
    expect(mail?.subject).toBe('TEST: rmm test notification for channel oncall-mail');
    expect(mail?.tls).toBe(true);
    expect(mail?.text).toContain('no alert is behind it');
  });

  it('exits 1 and shows the answer when the server refuses', async () => {
    receiver.failNext({ kind: 'status', status: 500, body: 'upstream down' });
    const result = await rmm('notify', 'test', 'ops-hook');
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(
      /: not delivered \(rmm serve would try again\)\n {2}answer: HTTP 500 Internal Server Error: upstream down$/,
    );
    smtp.replyNext('554 5.7.1 no thanks');
    const mail = await rmm('notify', 'test', 'oncall-mail');
    expect(mail.exitCode).toBe(1);
    expect(mail.stdout).toContain(
      'not delivered (refused for good: rmm serve would not try again)\n  answer: 554 5.7.1 no thanks',
    );
  });

  it('names a reference that is not set, never a value', async () => {
    const result = await runCli(['notify', 'test', 'oncall-mail'], {
      cwd,
      env: { RMM_TEST_HOOK: receiver.url },
    });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      'answer: not sent: credential env:RMM_TEST_SMTP_PASSWORD: the environment variable RMM_TEST_SMTP_PASSWORD is not set',
    );
  });

  it('refuses an unknown channel with a did-you-mean', async () => {
    const result = await rmm('notify', 'test', 'ops-hok');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      'Error: no NotificationChannel "ops-hok" in the database; did you mean "ops-hook"?',
    );
  });
});
