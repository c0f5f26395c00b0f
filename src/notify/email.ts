import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { CredentialPolicy } from '../credentials/policy.js';
import { durationSeconds } from '../duration.js';
import type { EmailChannelSpec } from '../resources/kinds.js';
import { cleanAnswer } from './answer.js';
import type { NotificationContent, Sender, SendResult } from './content.js';
import { mailSubject, mailText, messageIdOf } from './email-message.js';
import { readReference } from './reference.js';

export const DEFAULT_SMTP_PORT = 587;
export const DEFAULT_EMAIL_TIMEOUT = '30s';

export interface EmailDeps {
  policy: CredentialPolicy;
  userAgent: string;
}

/**
 * Sends a notification as one plain-text mail through the channel's SMTP server (nodemailer, one
 * connection per send). STARTTLS is required unless `starttls: off`; port 465 is TLS from the first
 * byte. The certificate is verified (system CAs, or `tls.caFile`) unless `tls.verify: false`, a lab
 * setting validate warns about. The password is read from its reference at each send.
 */
export function emailSender(channel: string, spec: EmailChannelSpec, deps: EmailDeps): Sender {
  const timeoutMs = (durationSeconds(spec.timeout ?? DEFAULT_EMAIL_TIMEOUT) ?? 30) * 1000;
  return async (content, { signal }) => {
    let password: string | undefined;
    if (spec.auth) {
      const read = readReference(spec.auth.password, deps.policy);
      if ('problem' in read) return { outcome: 'retry', answer: cleanAnswer(`not sent: ${read.problem}`) };
      password = read.value;
    }
    let ca: Buffer | undefined;
    if (spec.tls?.caFile) {
      try {
        ca = readFileSync(spec.tls.caFile);
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? 'error';
        return {
          outcome: 'retry',
          answer: cleanAnswer(`not sent: cannot read tls.caFile ${spec.tls.caFile} (${reason})`),
        };
      }
    }
    const secrets = password ? secretForms(spec.auth?.user ?? '', password) : [];
    return send(channel, spec, content, {
      signal,
      timeoutMs,
      password,
      ca,
      secrets,
      userAgent: deps.userAgent,
    });
  };
}

interface SendOptions {
  signal: AbortSignal;
  timeoutMs: number;
  password: string | undefined;
  ca: Buffer | undefined;
  secrets: string[];
  userAgent: string;
}

async function send(
  channel: string,
  spec: EmailChannelSpec,
  content: NotificationContent,
  options: SendOptions,
): Promise<SendResult> {
  const port = spec.port ?? DEFAULT_SMTP_PORT;
  const starttls = spec.starttls !== 'off';
  const transport = nodemailer.createTransport({
    host: spec.host,
    port,
    secure: port === 465,
    requireTLS: starttls,
    ignoreTLS: !starttls,
    auth:
      spec.auth && options.password !== undefined
        ? { user: spec.auth.user, pass: options.password }
        : undefined,
    tls: {
      servername: spec.host,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: spec.tls?.verify !== false,
      ...(options.ca ? { ca: options.ca } : {}),
    },
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    const info = await transport.sendMail({
      from: spec.from,
      to: spec.to,
      subject: mailSubject(content),
      text: mailText(content),
      messageId: messageIdOf(content.id),
      date: new Date(content.createdAt),
      headers: {
        'Auto-Submitted': 'auto-generated',
        'X-Mailer': options.userAgent,
        'X-Rmm-Channel': channel,
      },
      signal: options.signal,
    });
    return { outcome: 'delivered', answer: cleanAnswer(info.response ?? '', options.secrets) };
  } catch (error) {
    return failure(error, options);
  } finally {
    transport.close();
  }
}

/** An SMTP reply of 4xx is worth another attempt, 5xx is final; no reply at all (network, TLS) another attempt. */
function failure(error: unknown, options: SendOptions): SendResult {
  if (options.signal.aborted) return { outcome: 'retry', answer: 'cancelled before the server answered' };
  const { responseCode, response, code, message } = error as {
    responseCode?: number;
    response?: string;
    code?: string;
    message?: string;
  };
  if (typeof responseCode === 'number' && responseCode >= 400) {
    // The server's reply as it said it; what rmm was doing only when the reply alone does not say.
    const reply = `${code === 'ETLS' ? 'STARTTLS refused: ' : ''}${response ?? message ?? responseCode}`;
    return {
      outcome: responseCode >= 500 ? 'rejected' : 'retry',
      answer: cleanAnswer(reply, options.secrets),
    };
  }
  const text = `${code ? `${code}: ` : ''}${message ?? String(error)}`;
  return { outcome: 'retry', answer: cleanAnswer(text, options.secrets) };
}

/** The password as it goes over the wire too (AUTH PLAIN and LOGIN send it base64), never to show. */
function secretForms(user: string, password: string): string[] {
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  return [password, base64(password), base64(`\u0000${user}\u0000${password}`)].filter((s) => s.length >= 4);
}
