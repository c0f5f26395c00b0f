import type { PathSegment } from '../diagnostics/diagnostic.js';
import type { DocumentProblem } from './ajv-messages.js';
import { durationRange } from './duration-range.js';
import type { AlertRouteSpec, NotificationChannelSpec } from './kinds.js';
import { referenceRefusal } from './transport-options.js';

/**
 * The rules of a NotificationChannel and an AlertRoute that JSON Schema cannot state: references
 * the console would refuse to resolve (errors, as for a transport's credentialRef), durations out of
 * range, and lab-only settings (warnings at the value, as for WinRM's tls.verify: false).
 */
export function channelProblems(spec: NotificationChannelSpec): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  const { webhook, email } = spec;
  const other = spec.type === 'webhook' ? 'email' : 'webhook';
  if (spec[other] !== undefined)
    problems.push({
      code: 'schema',
      path: ['spec', other],
      at: 'key',
      message: `is for type: ${other}; this channel is type: ${spec.type}, so only its ${spec.type} block is used (remove one)`,
    });
  if (webhook) {
    problems.push(...refused(webhook.url, ['spec', 'webhook', 'url']));
    problems.push(...durationRange(webhook.timeout, ['spec', 'webhook', 'timeout'], 1, 300));
  }
  if (email) {
    if (email.auth) problems.push(...refused(email.auth.password, ['spec', 'email', 'auth', 'password']));
    problems.push(...durationRange(email.timeout, ['spec', 'email', 'timeout'], 1, 300));
    if (email.starttls === 'off')
      problems.push(
        labOnly(
          ['spec', 'email', 'starttls'],
          `starttls: off sends every notification${email.auth ? ', and the SMTP password,' : ''} in clear: for labs only`,
        ),
      );
    if (email.tls?.verify === false)
      problems.push(
        labOnly(
          ['spec', 'email', 'tls', 'verify'],
          'tls.verify: false accepts any certificate, so whoever is on the network path can pose as the mail server and receive the mail and the password: for labs only (tls.caFile trusts a private CA)',
        ),
      );
  }
  return problems;
}

export function routeProblems(spec: AlertRouteSpec): DocumentProblem[] {
  return [
    ...durationRange(spec.repeatEvery, ['spec', 'repeatEvery'], 60, 30 * 86_400),
    ...durationRange(spec.groupWait, ['spec', 'groupWait'], 0, 3600),
  ];
}

function refused(ref: string, path: PathSegment[]): DocumentProblem[] {
  const refusal = referenceRefusal(ref);
  // The policy's message names credentialRef, the transports' field; here it is the field pointed at.
  return refusal
    ? [{ code: 'secret', path, at: 'value', message: refusal.replace(/^credentialRef /, 'the reference ') }]
    : [];
}

function labOnly(path: PathSegment[], message: string): DocumentProblem {
  return { code: 'channel', path, at: 'value', message, severity: 'warning' };
}
