import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** One key from a known_hosts file that applies to the host being checked. */
export interface KnownKey {
  type: string;
  blob: Buffer;
  revoked: boolean;
}

/** How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:` and the unpadded base64 of the key blob's SHA-256, as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type inside a wire-format public key blob (its first string). */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** A known_hosts line for `name`, as `ssh-keyscan` writes it (not hashed). */
export function knownHostsLine(name: string, blob: Buffer): string {
  return `${name} ${keyType(blob)} ${blob.toString('base64')}\n`;
}

/**
 * The keys a known_hosts file lists for `name` (see knownHostsName). Understands plain and
 * `[host]:port` patterns, `*`/`?` wildcards, `!` negation, hashed `|1|salt|hash` entries and the
 * `@revoked` marker. `@cert-authority` lines are skipped: host certificates are not supported.
 */
export function knownKeysFor(text: string, name: string): KnownKey[] {
  const keys: KnownKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker = '';
    if (fields[0]?.startsWith('@')) marker = fields.shift() ?? '';
    const [patterns, type, base64] = fields;
    if (patterns === undefined || type === undefined || base64 === undefined) continue;
    if (marker === '@cert-authority') continue;
    if (!hostMatches(patterns, name)) continue;
    keys.push({ type, blob: Buffer.from(base64, 'base64'), revoked: marker === '@revoked' });
  }
  return keys;
}

function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) return hashedMatches(patterns, name);
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    // A matching negation excludes the host whatever else matches, as in OpenSSH.
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, written by `ssh-keygen -H`. */
function hashedMatches(entry: string, name: string): boolean {
  const [, , salt, hash] = entry.split('|');
  if (salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function globMatches(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern.toLowerCase() === name.toLowerCase();
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'i').test(name);
}
