import { accessSync, constants } from 'node:fs';
import type { OptionsFinding } from 'rmm/plugin';
import type { RelayOptions } from './options.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * The relay transport's checkOptions: what the schema cannot say. Plain nats:// sends the console's
 * password and every action in clear text, which is only acceptable on the console's own machine;
 * a CA file that cannot be read would fail every connection later, so it is refused now, at its line.
 */
export function checkRelayOptions(options: Record<string, unknown>): OptionsFinding[] {
  const opts = options as Partial<RelayOptions>;
  const findings: OptionsFinding[] = [];
  for (const [index, server] of (opts.servers ?? []).entries()) {
    const host = hostOf(server);
    if (server.startsWith('nats://') && host !== undefined && !LOOPBACK.has(host))
      findings.push({
        path: ['servers', index],
        severity: 'warning',
        message: `${server} is plain NATS to another machine: the console's password and every action cross the network unencrypted; for labs only, use tls://`,
      });
  }
  for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
    const file = opts.tls?.[key];
    if (file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch {
      findings.push({
        path: ['tls', key],
        severity: 'error',
        message: `${file} cannot be read by rmm here; every connection to this relay's NATS would fail`,
      });
    }
  }
  return findings;
}

/** The host of `nats://host:port`, lowercase, brackets kept for IPv6. */
function hostOf(server: string): string | undefined {
  const match = /^[a-z]+:\/\/(\[[^\]]+\]|[^:/]+)/i.exec(server);
  return match?.[1]?.toLowerCase();
}
