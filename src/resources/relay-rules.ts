import type { DocumentProblem } from './ajv-messages.js';
import { durationRange } from './duration-range.js';
import type { RelaySpec, SiteSpec } from './kinds.js';

/** How long an action may wait in a relay's queue: at least a minute, at most JetStream's 30 days. */
export const ACTION_EXPIRY_RANGE = { min: 60, max: 30 * 86_400 } as const;

/** A Relay's rules that JSON Schema cannot state (its nats block is the relay plugin's to check). */
export function relayRules(spec: RelaySpec): DocumentProblem[] {
  const { min, max } = ACTION_EXPIRY_RANGE;
  return durationRange(spec.actionExpiry, ['spec', 'actionExpiry'], min, max);
}

/** A site's transport default may send its devices through a relay only when the site names one. */
export function siteViaProblems(spec: SiteSpec): DocumentProblem[] {
  if (spec.defaults?.transport?.via !== 'relay' || spec.relay) return [];
  return [
    {
      code: 'reference',
      path: ['spec', 'defaults', 'transport', 'via'],
      at: 'value',
      message:
        'via: relay needs a relay, and this site names none (set spec.relay to a Relay, or leave via out to connect directly)',
    },
  ];
}
