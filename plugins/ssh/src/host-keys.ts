import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fingerprint, keyType, knownHostsLine, knownHostsName, knownKeysFor } from './known-hosts.js';

export interface HostKeyOptions {
  knownHosts?: string;
  hostKeyFingerprint?: string;
  hostKeyPolicy?: 'strict' | 'accept-new';
}

export interface HostKeyCheck {
  /** ssh2's host key algorithms, the types already known for this host first (as OpenSSH orders them). */
  algorithms: string[] | undefined;
  /** undefined when the offered key (wire-format blob) is trusted, else why not (no secrets in it). */
  check(blob: Buffer): Promise<string | undefined>;
}

/** ssh2 1.17's default order (ed25519 first where Node supports it, which Node 20 does). */
const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * Decides whether a host key is trusted: a pinned hostKeyFingerprint if there is one, else the
 * known_hosts file (default ~/.ssh/known_hosts, as OpenSSH). A host the file lists with other keys
 * is refused even under accept-new: that is a changed key, not a new host.
 */
export async function hostKeyCheck(
  host: string,
  port: number,
  options: HostKeyOptions,
): Promise<HostKeyCheck> {
  const name = knownHostsName(host, port);
  const offered = (blob: Buffer) => `the host offered ${keyType(blob)} ${fingerprint(blob)}`;
  if (options.hostKeyFingerprint !== undefined) {
    const pinned = options.hostKeyFingerprint.replace(/=$/, '');
    return {
      algorithms: undefined,
      check: async (blob) =>
        fingerprint(blob) === pinned
          ? undefined
          : `${offered(blob)}, expected ${pinned} (hostKeyFingerprint)`,
    };
  }

  const file = expandHome(options.knownHosts ?? '~/.ssh/known_hosts');
  const { text, known } = await knownFor(file, name);
  const trusted = known.filter((key) => !key.revoked);
  const knownTypes = new Set(trusted.map((key) => key.type));
  const first = DEFAULT_HOST_KEY_ALGORITHMS.filter((a) =>
    knownTypes.has(a === 'ssh-rsa' || a.startsWith('rsa-') ? 'ssh-rsa' : a),
  );
  const algorithms =
    first.length === 0
      ? undefined
      : [...first, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];

  return {
    algorithms,
    async check(blob) {
      if (known.some((key) => key.revoked && key.blob.equals(blob))) {
        return `${offered(blob)}, which ${file} marks @revoked`;
      }
      if (trusted.some((key) => key.blob.equals(blob))) return undefined;
      if (trusted.length > 0) {
        const listed = trusted.map((key) => `${key.type} ${fingerprint(key.blob)}`).join(', ');
        return `${offered(blob)}, expected ${listed} (${file}): the key changed, or this is not the host it should be`;
      }
      if (options.hostKeyPolicy === 'accept-new') {
        await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
        const separator = text === '' || text.endsWith('\n') ? '' : '\n';
        await appendFile(file, separator + knownHostsLine(name, blob), { mode: 0o600 });
        parsed.delete(file);
        return undefined;
      }
      return `${offered(blob)}, expected a key listed for ${name} in ${file}, which has none (add it, pin hostKeyFingerprint, or set hostKeyPolicy accept-new)`;
    },
  };
}

/**
 * known_hosts as read for this process, by file: a fan-out to 1,000 devices connects 1,000 times and
 * would otherwise read and parse the file (hashing every hashed entry) each time. Re-read when the
 * file's size or time changes, so an edit during a long run is seen. A read in progress is shared:
 * the first 200 connections of a fan-out all ask before the first read has finished.
 */
const parsed = new Map<
  string,
  Promise<{ stamp: string; text: string; byName: Map<string, ReturnType<typeof knownKeysFor>> }>
>();

async function knownFor(file: string, name: string) {
  const stamp = await stat(file).then(
    (s) => `${s.size}:${s.mtimeMs}`,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return 'missing';
      throw error;
    },
  );
  let pending = parsed.get(file);
  // A failed read is not kept: the next connection tries again.
  const current = await pending?.catch(() => undefined);
  if (!pending || current?.stamp !== stamp) {
    pending = (async () => ({
      stamp,
      text: stamp === 'missing' ? '' : await readFile(file, 'utf8'),
      byName: new Map<string, ReturnType<typeof knownKeysFor>>(),
    }))();
    parsed.set(file, pending);
  }
  const entry = await pending;
  let known = entry.byName.get(name);
  if (!known) {
    known = knownKeysFor(entry.text, name);
    entry.byName.set(name, known);
  }
  return { text: entry.text, known };
}

function expandHome(file: string): string {
  return file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : path.resolve(file);
}
