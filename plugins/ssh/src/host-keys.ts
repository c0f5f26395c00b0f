import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fingerprint, keyType, knownHostsLine, knownHostsName, knownKeysFor } from './known-hosts.js';
import { assertKnownHostsPlace } from './known-hosts-dirs.js';

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

/** What the trust store says of one offered key (see HostKeyScan.status in rmm/plugin). */
export type Verdict =
  | { status: 'known' }
  | { status: 'new' }
  | { status: 'revoked' }
  | { status: 'changed'; expected: string[] };

/** What a device's host key is checked against: a pinned fingerprint, or a known_hosts file. */
export interface TrustStore {
  /** The host's name in known_hosts: `host` on port 22, `[host]:port` otherwise. */
  name: string;
  /** For messages: the known_hosts path, or `hostKeyFingerprint (device options)`. */
  store: string;
  /** The known_hosts file, or undefined when a fingerprint is pinned (nothing can be recorded). */
  file: string | undefined;
  /** ssh2's host key algorithms, the types already known for this host first (as OpenSSH orders them). */
  algorithms: string[] | undefined;
  classify(blob: Buffer): Verdict;
}

/**
 * The trust store for one device: a pinned hostKeyFingerprint if there is one, else the known_hosts
 * file (default ~/.ssh/known_hosts, as OpenSSH). A host the file lists with other keys is `changed`,
 * not new: that is a replaced key or another machine answering.
 */
export async function trustStore(host: string, port: number, options: HostKeyOptions): Promise<TrustStore> {
  const name = knownHostsName(host, port);
  if (options.hostKeyFingerprint !== undefined) {
    const pinned = options.hostKeyFingerprint.replace(/=$/, '');
    return {
      name,
      store: 'hostKeyFingerprint (device options)',
      file: undefined,
      algorithms: undefined,
      classify: (blob) =>
        fingerprint(blob) === pinned ? { status: 'known' } : { status: 'changed', expected: [pinned] },
    };
  }

  const file = knownHostsFile(options);
  assertKnownHostsPlace(file, options.knownHosts);
  const { known } = await knownFor(file, name);
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
    name,
    store: file,
    file,
    algorithms,
    classify(blob) {
      if (known.some((key) => key.revoked && key.blob.equals(blob))) return { status: 'revoked' };
      if (trusted.some((key) => key.blob.equals(blob))) return { status: 'known' };
      if (trusted.length > 0)
        return { status: 'changed', expected: trusted.map((key) => `${key.type} ${fingerprint(key.blob)}`) };
      return { status: 'new' };
    },
  };
}

/**
 * Decides whether a host key is trusted, for connect: `known` is, `new` only under accept-new (and is
 * recorded then); `changed` and `revoked` never are.
 */
export async function hostKeyCheck(
  host: string,
  port: number,
  options: HostKeyOptions,
): Promise<HostKeyCheck> {
  const trust = await trustStore(host, port, options);
  const offered = (blob: Buffer) => `the host offered ${keyType(blob)} ${fingerprint(blob)}`;
  return {
    algorithms: trust.algorithms,
    async check(blob) {
      const verdict = trust.classify(blob);
      switch (verdict.status) {
        case 'known':
          return undefined;
        case 'revoked':
          return `${offered(blob)}, which ${trust.store} marks @revoked`;
        case 'changed':
          return trust.file === undefined
            ? `${offered(blob)}, expected ${verdict.expected.join(', ')} (hostKeyFingerprint)`
            : `${offered(blob)}, expected ${verdict.expected.join(', ')} (${trust.file}): the key changed, or this is not the host it should be`;
        case 'new':
          if (options.hostKeyPolicy === 'accept-new' && trust.file !== undefined) {
            await recordHostKey(trust.file, trust.name, blob);
            return undefined;
          }
          return `${offered(blob)}, expected a key listed for ${trust.name} in ${trust.store}, which has none (trust it with rmm hostkeys scan, pin hostKeyFingerprint, or set hostKeyPolicy accept-new)`;
      }
    },
  };
}

/**
 * Appends `name`'s key to known_hosts as `ssh-keyscan` writes it, after reading the file afresh:
 * a key already listed is left alone ('known'), and a host listed with other keys is not touched
 * ('changed'); only a host the file does not list gets the line ('new'). Records to one file wait
 * for each other: a fan-out to 20 devices behind one address under accept-new writes the key once,
 * where each connection read the file before any had written it.
 */
export function recordHostKey(file: string, name: string, blob: Buffer): Promise<Verdict> {
  const previous = recording.get(file) ?? Promise.resolve();
  const next = previous.then(() => recordNow(file, name, blob));
  const settled = next.catch(() => undefined);
  recording.set(file, settled);
  void settled.then(() => {
    if (recording.get(file) === settled) recording.delete(file);
  });
  return next;
}

/** The last record queued for each known_hosts file (see recordHostKey). */
const recording = new Map<string, Promise<unknown>>();

async function recordNow(file: string, name: string, blob: Buffer): Promise<Verdict> {
  // Checked again here, where the file and its folders are written: no caller can skip it.
  assertKnownHostsPlace(file);
  parsed.delete(file);
  const { text, known } = await knownFor(file, name);
  const trusted = known.filter((key) => !key.revoked);
  if (known.some((key) => key.revoked && key.blob.equals(blob))) return { status: 'revoked' };
  if (trusted.some((key) => key.blob.equals(blob))) return { status: 'known' };
  if (trusted.length > 0)
    return { status: 'changed', expected: trusted.map((key) => `${key.type} ${fingerprint(key.blob)}`) };
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  await appendFile(file, separator + knownHostsLine(name, blob), { mode: 0o600 });
  parsed.delete(file);
  return { status: 'new' };
}

/** The known_hosts file a device's options name (default ~/.ssh/known_hosts), as an absolute path. */
export function knownHostsFile(options: HostKeyOptions): string {
  return expandHome(options.knownHosts ?? '~/.ssh/known_hosts');
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
