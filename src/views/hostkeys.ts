import type { HostKeyResult } from '../hostkeys/scan.js';
import { printable } from '../printable.js';
import { paint } from './color.js';

/**
 * `rmm hostkeys scan`, for people: one line per device, then what happened to the new keys. What a
 * host sent (key type, errors) is escaped, as are names and addresses (src/printable.ts).
 */
export function hostKeyLines(results: readonly HostKeyResult[], color: boolean): string[] {
  const c = paint(color);
  const width = Math.max(...results.map((r) => printable(r.device).length));
  const hostWidth = Math.max(...results.map((r) => printable(r.host).length));
  return results.map((r) => {
    const head = `${printable(r.device).padEnd(width)}  ${printable(r.host).padEnd(hostWidth)}`;
    const key = r.fingerprint ? `  ${printable(`${r.keyType} ${r.fingerprint}`)}` : '';
    switch (r.status) {
      case 'known':
        return `${head}${key}  ${c('dim', 'known')}`;
      case 'new':
        return `${head}${key}  ${c('yellow', 'new')}`;
      case 'recorded':
        return `${head}${key}  ${c('green', 'recorded')}`;
      case 'changed':
        return `${head}${key}  ${c('red', 'CHANGED')}`;
      case 'revoked':
        return `${head}${key}  ${c('red', 'REVOKED')}`;
      case 'unsupported':
        return `${head}  ${c('dim', `skipped: ${printable(r.error ?? '')}`)}`;
      default:
        return `${head}${key}  ${c('red', r.status)}: ${printable(r.error ?? '')}`;
    }
  });
}

/**
 * The warning for keys that differ from the trusted ones, written on stderr whatever the output
 * format: as loud as OpenSSH's, because it is what a man in the middle looks like.
 */
export function mismatchWarning(results: readonly HostKeyResult[], color: boolean): string[] {
  if (results.length === 0) return [];
  const c = paint(color);
  const lines = [
    c('red', '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@'),
    c('red', '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @'),
    c('red', '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@'),
    'Someone could be eavesdropping on you right now (a man-in-the-middle attack),',
    'or the host key was replaced (a reinstalled host). Nothing was recorded in this run.',
  ];
  for (const r of results) {
    lines.push(printable(`  ${r.device} (${r.host}) offered ${r.keyType} ${r.fingerprint}`));
    if (r.status === 'revoked') lines.push(printable(`    which ${r.store} marks @revoked`));
    else lines.push(printable(`    trusted instead: ${(r.expected ?? []).join(', ')} (${r.store})`));
    if (r.error) lines.push(printable(`    ${r.error}`));
  }
  lines.push(
    "Check the new key with the host's administrator (ssh-keygen -lf on the host). If it is right, remove",
    'the old line (ssh-keygen -R HOST -f KNOWN_HOSTS) and scan again; rmm never replaces a trusted key.',
  );
  return lines;
}

/** The line after the list: what became of the new keys. */
export function recordSummary(
  results: readonly HostKeyResult[],
  why: 'recorded' | 'no-terminal' | 'declined' | 'mismatch' | 'json',
): string | undefined {
  const pending = results.filter((r) => r.status === 'new').length;
  const recorded = results.filter((r) => r.status === 'recorded');
  if (why === 'recorded') {
    if (recorded.length === 0) return undefined;
    const stores = [...new Set(recorded.map((r) => r.store))].join(', ');
    return printable(`Recorded ${count(recorded.length, 'host key')} in ${stores}.`);
  }
  if (pending === 0) return undefined;
  const reason = {
    'no-terminal': 'no terminal to confirm on; after checking the fingerprints, run again with --yes',
    json: 'with --json, only --yes records them',
    declined: 'not confirmed',
    mismatch: 'a key above changed, so nothing is recorded in this run',
  }[why];
  return `${count(pending, 'new host key')} not recorded: ${reason}.`;
}

/** `rmm hostkeys scan --json`: one versioned document. */
export function hostKeysJson(results: readonly HostKeyResult[]): string {
  const summary: Record<string, number> = {};
  for (const r of results) summary[r.status] = (summary[r.status] ?? 0) + 1;
  return JSON.stringify({ version: 1, devices: results, summary });
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
