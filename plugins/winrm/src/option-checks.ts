import type { OptionsFinding } from 'rmm/plugin';
import type { WinrmOptions } from './options.js';

/**
 * The WinRM transport's checkOptions: settings its schema allows but that belong in a lab, said at
 * `rmm validate` so that a pull request that turns them on is seen at review.
 */
export function checkWinrmOptions(options: Record<string, unknown>): OptionsFinding[] {
  const opts = options as WinrmOptions;
  const findings: OptionsFinding[] = [];
  // A pinned fingerprint is checked whatever verify says (connection.ts): nothing is lost then.
  if (opts.tls?.verify === false && opts.tls.fingerprint === undefined)
    findings.push({
      path: ['tls', 'verify'],
      severity: 'warning',
      message:
        'verify: false accepts any certificate, so whoever is on the network path can pose as the device and receive the password and the commands: for labs; trust the CA with tls.caFile or pin the certificate with tls.fingerprint',
    });
  return findings;
}
