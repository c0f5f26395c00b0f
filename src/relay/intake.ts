import type { QueuedAction } from '../plugin/api.js';
import type { Known } from './relay-store.js';
import type { ReadWork } from './work-message.js';

/**
 * What the relay does with one work message, decided from what it read, what its store knows of
 * the ActionId, whether it holds it already, and its clock. Pure: the agent does the I/O.
 *
 * - refuse: unreadable or unsafe; never run. Termed; the console is told (a Failed report) when the
 *   message named an ActionId the relay has no record of.
 * - settled: the ActionId ended here before (a redelivery, a repeat): never run again; its finished
 *   report is (re)sent and the message acked.
 * - hold: the relay has it already (waiting or running): keep the newest delivery, ack that one later.
 * - expire: its deadline passed before it could start: reported Expired, never run.
 * - queue: new work.
 */
export type Intake =
  | { kind: 'refuse'; problem: string; reportFor?: string }
  | { kind: 'settled'; actionId: string }
  | { kind: 'hold'; actionId: string }
  | { kind: 'expire'; action: QueuedAction }
  | { kind: 'queue'; action: QueuedAction };

export function decideIntake(
  read: ReadWork,
  known: (actionId: string) => Known,
  held: (actionId: string) => boolean,
  nowMs: number,
): Intake {
  if (!read.ok) {
    const refused: Intake = { kind: 'refuse', problem: read.problem };
    if (read.actionId && !held(read.actionId) && known(read.actionId).state === 'new')
      refused.reportFor = read.actionId;
    return refused;
  }
  const { action } = read;
  if (held(action.actionId)) return { kind: 'hold', actionId: action.actionId };
  const state = known(action.actionId).state;
  if (state === 'final') return { kind: 'settled', actionId: action.actionId };
  // Recorded but not ended, and not held by this process: recovery ends such rows at start-up,
  // so this is another process's on the same store; leave it to that one.
  if (state === 'running') return { kind: 'hold', actionId: action.actionId };
  if (isExpired(action, nowMs)) return { kind: 'expire', action };
  return { kind: 'queue', action };
}

/** Past expiresAt by the relay's clock: it must not start. */
export function isExpired(action: Pick<QueuedAction, 'expiresAt'>, nowMs: number): boolean {
  return Date.parse(action.expiresAt) <= nowMs;
}
