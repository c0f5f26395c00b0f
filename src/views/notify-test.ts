import type { TestOutcome } from '../notify/test-notification.js';
import { printable } from '../printable.js';

const WORDS: Record<TestOutcome['outcome'], string> = {
  delivered: 'delivered',
  retry: 'not delivered (rmm serve would try again)',
  rejected: 'not delivered (refused for good: rmm serve would not try again)',
};

/** `rmm notify test`'s lines: what happened, then exactly what the server answered. */
export function testOutcomeText(outcome: TestOutcome): string {
  return [
    `Test notification ${outcome.id} over ${outcome.type} channel ${printable(outcome.channel)}: ${WORDS[outcome.outcome]}`,
    `  answer: ${printable(outcome.answer)}`,
  ].join('\n');
}
