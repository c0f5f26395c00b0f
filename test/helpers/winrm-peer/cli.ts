import { parseArgs } from 'node:util';
import { startWinrmPeer } from './index.js';
import type { AuthScheme } from './types.js';

/**
 * The WinRM test peer in a process of its own, for benchmarks that must not share an event loop
 * with it:
 *
 *   npx tsx test/helpers/winrm-peer/cli.ts --port 0 --user u:p [--user v:q] [--https] [--auth ntlm,basic]
 *     [--max-shells-per-user n] [--max-envelope-size bytes] [--until-stdin-closes]
 *
 * Prints one JSON line on stdout once it listens ({port, url, host, scheme, certificatePem?,
 * certificateFingerprint256?}), serves until SIGTERM or SIGINT (or, with --until-stdin-closes, until
 * its stdin ends, so it cannot outlive a parent that dies), then prints its stats as one JSON line on
 * stderr and exits 0. Signal the tsx process (node_modules/.bin/tsx), not npx: npx exits on SIGTERM
 * without passing it on, leaving the peer running.
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    user: { type: 'string', multiple: true, default: [] },
    https: { type: 'boolean', default: false },
    auth: { type: 'string' },
    'max-shells-per-user': { type: 'string' },
    'max-envelope-size': { type: 'string' },
    'until-stdin-closes': { type: 'boolean', default: false },
  },
  strict: true,
});

const users: Record<string, string> = {};
for (const pair of values.user) {
  const colon = pair.indexOf(':');
  if (colon <= 0) throw new Error(`--user wants user:password, got ${pair}`);
  users[pair.slice(0, colon)] = pair.slice(colon + 1);
}
const auth = (values.auth ?? (values.https ? 'basic,ntlm' : 'ntlm')).split(',') as AuthScheme[];
const optionalNumber = (text: string | undefined) => (text === undefined ? undefined : Number(text));

const peer = await startWinrmPeer({
  users,
  https: values.https,
  auth,
  port: Number(values.port),
  maxShellsPerUser: optionalNumber(values['max-shells-per-user']),
  maxEnvelopeSize: optionalNumber(values['max-envelope-size']),
});
const { port, url, host, scheme, certificatePem, certificateFingerprint256 } = peer;
process.stdout.write(
  `${JSON.stringify({ port, url, host, scheme, certificatePem, certificateFingerprint256 })}\n`,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await peer.stop();
  process.stderr.write(`${JSON.stringify(peer.stats)}\n`);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
if (values['until-stdin-closes']) {
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
}
