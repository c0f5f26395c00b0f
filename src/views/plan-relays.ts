import type { RelayMove } from '../engine/relay-moves.js';
import { printable } from '../printable.js';

/** Up to this many devices, a move line names them all. */
const NAMED = 10;

/**
 * One line per route change of existing devices: "3 devices move to relay relay-alpha: a, b, c",
 * "1 device moves from relay relay-beta to direct: x", naming the devices when few.
 */
export function* relayMoveLines(moves: readonly RelayMove[]): Generator<string> {
  if (moves.length === 0) return;
  yield '';
  for (const move of moves) yield printable(relayMoveLine(move));
}

export function relayMoveLine(move: RelayMove): string {
  const subject = `${move.count} device${move.count === 1 ? ' moves' : 's move'}`;
  const where = (relay: string | null) => (relay === null ? 'direct' : `relay ${relay}`);
  const path = move.from === null ? `to ${where(move.to)}` : `from ${where(move.from)} to ${where(move.to)}`;
  const names = move.count <= NAMED ? `: ${move.devices.join(', ')}` : '';
  return `${subject} ${path}${names}`;
}
