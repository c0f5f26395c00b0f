import type { CredentialPolicy } from '../credentials/policy.js';
import type { NotificationChannelSpec } from '../resources/kinds.js';
import type { Sender } from './content.js';
import { emailSender } from './email.js';
import { webhookSender } from './webhook.js';

export interface SenderDeps {
  /** Which references this console resolves (credentials/policy.ts). */
  policy: CredentialPolicy;
  /** `rmm/0.1.0`: a webhook's User-Agent, a mail's X-Mailer. */
  userAgent: string;
}

/** The sender of a channel as declared: the one way the outbox and `rmm notify test` send. */
export function channelSender(name: string, spec: NotificationChannelSpec, deps: SenderDeps): Sender {
  if (spec.type === 'webhook' && spec.webhook) return webhookSender(name, spec.webhook, deps);
  if (spec.type === 'email' && spec.email) return emailSender(name, spec.email, deps);
  const problem = `channel ${name} has no ${spec.type} settings`;
  return async () => ({ outcome: 'rejected', answer: problem });
}
