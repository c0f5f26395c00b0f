import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RmmError } from '../errors.js';

/**
 * Which credential references this console resolves: the console's decision, never the YAML's. A
 * repository that could name any reference could send any secret the console can read (a private key,
 * a cloud token) to any address it names. Plain data, so it travels to the check workers.
 */
export interface CredentialPolicy {
  /** env: references resolve only to variables whose name starts with one of these. */
  envPrefixes: string[];
  /** file: references resolve only to files inside one of these absolute directories. */
  dirs: string[];
}

export const DEFAULT_ENV_PREFIX = 'RMM_';
const ENV_NAME_PREFIX = /^[A-Za-z_][A-Za-z0-9_]*$/;
const WIDEN = 'widen it on the console with RMM_CREDENTIAL_ENV_PREFIXES or RMM_CREDENTIAL_DIRS';

/**
 * The policy of a console with this data directory: variables starting with RMM_ and files under
 * <data-dir>/credentials/, widened by RMM_CREDENTIAL_ENV_PREFIXES and RMM_CREDENTIAL_DIRS (lists
 * separated by commas or colons). A malformed entry is an invalid-input error naming the variable.
 */
export function credentialPolicy(dataDir: string, env: NodeJS.ProcessEnv = process.env): CredentialPolicy {
  const envPrefixes = [DEFAULT_ENV_PREFIX];
  for (const prefix of list(env.RMM_CREDENTIAL_ENV_PREFIXES)) {
    if (!ENV_NAME_PREFIX.test(prefix))
      throw new RmmError(
        'invalid-input',
        `RMM_CREDENTIAL_ENV_PREFIXES: "${prefix}" is not the start of an environment variable name (letters, digits and _, not starting with a digit)`,
      );
    if (!envPrefixes.includes(prefix)) envPrefixes.push(prefix);
  }
  const dirs = [path.join(path.resolve(dataDir), 'credentials')];
  for (const dir of list(env.RMM_CREDENTIAL_DIRS)) {
    if (!path.isAbsolute(dir))
      throw new RmmError('invalid-input', `RMM_CREDENTIAL_DIRS: "${dir}" is not an absolute directory`);
    const resolved = path.resolve(dir);
    if (!dirs.includes(resolved)) dirs.push(resolved);
  }
  return { envPrefixes, dirs };
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[,:]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The file a file: reference names: `~` expanded, then resolved (symlinks and `..`) as far as it exists. */
export function referencedFile(ref: string): string {
  const file = ref.slice('file:'.length).replace(/^~(?=$|\/)/, os.homedir());
  return realPath(path.resolve(file));
}

function realPath(file: string): string {
  // Bounded by the number of components: each step goes one folder up.
  try {
    return realpathSync(file);
  } catch {
    const parent = path.dirname(file);
    return parent === file ? file : path.join(realPath(parent), path.basename(file));
  }
}

/**
 * Why the policy refuses a reference, or undefined when it allows it. The message names neither the
 * reference nor its value (a diagnostic points at it); it says which forms are allowed and how to widen.
 */
export function credentialRefusal(ref: string, policy: CredentialPolicy): string | undefined {
  const allowed = `this console resolves env: only for variables starting with ${policy.envPrefixes.join(', ')} and file: only for files under ${policy.dirs.join(', ')}; ${WIDEN}`;
  if (ref.startsWith('env:')) {
    const name = ref.slice('env:'.length);
    if (policy.envPrefixes.some((prefix) => name.startsWith(prefix) && name.length > prefix.length))
      return undefined;
    return `credentialRef names an environment variable this console does not allow: ${allowed}`;
  }
  if (ref.startsWith('file:')) {
    const file = referencedFile(ref);
    if (policy.dirs.some((dir) => isInside(file, realPath(dir)))) return undefined;
    return `credentialRef names a file outside the folders this console allows (symlinks and .. resolved): ${allowed}`;
  }
  return undefined;
}

function isInside(file: string, dir: string): boolean {
  const relative = path.relative(dir, file);
  return (
    relative !== '' &&
    relative !== '..' &&
    !relative.startsWith(`..${path.sep}`) &&
    !path.isAbsolute(relative)
  );
}
