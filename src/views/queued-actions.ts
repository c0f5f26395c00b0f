import type { ActionRow } from '../actions/store.js';
import { printable } from '../printable.js';

/** What rmm exec says of actions a relay still holds when it stops waiting, and how to follow them. */
export function stillQueuedLines(
  rows: readonly Pick<ActionRow, 'ActionId' | 'DeviceId' | 'Status'>[],
): string[] {
  const lines = [
    `${rows.length} action${rows.length === 1 ? ' is' : 's are'} still queued (at a relay or a device's share; Pending: to be submitted again): delivered work is not cancelled, it runs when the far side takes it:`,
    ...rows.slice(0, 20).map((r) => `  ${r.ActionId} (${printable(r.DeviceId ?? '')}): ${r.Status}`),
  ];
  if (rows.length > 20) lines.push(`  ... and ${rows.length - 20} more`);
  lines.push(
    'Follow them with rmm actions list --status Pending --status Delivered --status Running; results arrive with rmm serve or rmm actions collect.',
  );
  return lines;
}
