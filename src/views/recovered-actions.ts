import type { Recovered } from '../actions/recover.js';

/**
 * What a runner says, on stderr, before it claims anything: the rows stopped runners left that it
 * ended (Failed), cancelled, or released to be submitted again to a queue (see actions/recover.ts), at most 10 of each.
 */
export function recoveredLines(recovered: readonly Recovered[]): string[] {
  return [
    ...describe(
      recovered.filter((r) => r.status === 'Failed'),
      (n, s) => `Recovered ${n} action${s} a stopped runner left Running, now Failed`,
    ),
    ...describe(
      recovered.filter((r) => r.status === 'Cancelled'),
      (n, s) => `Cancelled ${n} action${s} a stopped rmm exec had queued and not started`,
    ),
    ...describe(
      recovered.filter((r) => r.status === 'Pending'),
      (n, s) => `Released ${n} action${s} a stopped rmm was submitting to a relay, to be submitted again`,
    ),
  ];
}

function describe(rows: readonly Recovered[], heading: (n: number, s: string) => string): string[] {
  if (rows.length === 0) return [];
  const lines = rows.slice(0, 10).map((r) => `  ${r.id} (${r.device}): ${r.error}`);
  if (rows.length > 10) lines.push(`  ... and ${rows.length - 10} more`);
  return [`${heading(rows.length, rows.length === 1 ? '' : 's')}:`, ...lines];
}
