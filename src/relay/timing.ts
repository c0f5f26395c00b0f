/**
 * The relay's periodic duties as functions of the clock (time is an input): when a heartbeat is
 * due, and which held work messages need a `working()` so JetStream does not deliver them again
 * (its ack_wait is 60 s) while they wait or run.
 */
export const HEARTBEAT_EVERY_MS = 30_000;
export const WORKING_EVERY_MS = 20_000;

/** Due when none was sent yet, or the last is `everyMs` old. */
export function heartbeatDue(
  lastSentMs: number | undefined,
  nowMs: number,
  everyMs = HEARTBEAT_EVERY_MS,
): boolean {
  return lastSentMs === undefined || nowMs - lastSentMs >= everyMs;
}

export interface Touched {
  /** When its ack timer was last reset: delivery, or the last working(). */
  touchedMs: number;
}

/** The held messages whose ack timer should be reset now. */
export function dueForWorking<T extends Touched>(
  held: Iterable<T>,
  nowMs: number,
  everyMs = WORKING_EVERY_MS,
): T[] {
  const due: T[] = [];
  for (const item of held) if (nowMs - item.touchedMs >= everyMs) due.push(item);
  return due;
}
