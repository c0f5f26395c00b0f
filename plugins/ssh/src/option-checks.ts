import type { OptionsFinding } from 'rmm/plugin';
import { knownHostsFile } from './host-keys.js';
import { KNOWN_HOSTS_DIRS_ENV, knownHostsPlaceProblem } from './known-hosts-dirs.js';
import type { SshOptions } from './options.js';

/**
 * The SSH transport's checkOptions: what its schema cannot say, so that `rmm validate` refuses at the
 * line of the YAML what connect would refuse later (a knownHosts outside the console's folders), and
 * warns about a setting that trusts more than it should.
 */
export function checkSshOptions(options: Record<string, unknown>): OptionsFinding[] {
  const opts = options as SshOptions;
  const findings: OptionsFinding[] = [];
  if (opts.knownHosts !== undefined) {
    const problem = placeProblem(opts.knownHosts);
    if (problem !== undefined) findings.push({ path: ['knownHosts'], severity: 'error', message: problem });
  }
  // A pinned fingerprint replaces known_hosts, so the policy does nothing then.
  if (opts.hostKeyPolicy === 'accept-new' && opts.hostKeyFingerprint === undefined)
    findings.push({
      path: ['hostKeyPolicy'],
      severity: 'warning',
      message:
        'accept-new trusts whatever key a host not listed yet offers first, a man in the middle included: for labs; trust new hosts with rmm hostkeys scan (it shows each key before recording it) and keep the default strict',
    });
  return findings;
}

/**
 * knownHostsPlaceProblem resolves folders through their links on each call: 10,000 devices naming
 * the same file took 1.6 s of a validate. A repository names few files, so the answers are kept, by
 * path and by what they depend on in the environment; the size bound is for a hostile input.
 */
const places = new Map<string, string | undefined>();
function placeProblem(written: string): string | undefined {
  const key = [written, process.env.HOME, process.env[KNOWN_HOSTS_DIRS_ENV]].join('\0');
  if (places.has(key)) return places.get(key);
  const problem = knownHostsPlaceProblem(knownHostsFile({ knownHosts: written }), written);
  if (places.size >= 1000) places.clear();
  places.set(key, problem);
  return problem;
}
