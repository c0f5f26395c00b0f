import { resolveSecret } from '../actions/secret.js';
import type { CredentialPolicy } from '../credentials/policy.js';

/**
 * A channel's secret (a webhook URL, an SMTP password) read from its reference when a notification
 * is sent, so a rotated secret is used at once and none is kept in memory between sends. A problem
 * names the reference, never a value.
 */
export function readReference(
  ref: string,
  policy: CredentialPolicy,
): { value: string } | { problem: string } {
  try {
    return { value: resolveSecret(ref, policy).revealText() };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}
