import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { inspect } from 'node:util';
import { type CredentialPolicy, credentialRefusal, referencedFile } from '../credentials/policy.js';
import type { Secret } from '../plugin/api.js';

/** More than any password or private key: a credential file over it is refused, not read. */
export const MAX_CREDENTIAL_BYTES = 64 * 1024;

/**
 * A credential reference (`env:NAME` or `file:PATH`) resolved when a connection needs it. The value
 * is read at that moment and only reveal() gives it; printing, logging or JSON shows the reference.
 * A reference the console's policy does not allow (credentials/policy.ts) is refused before anything
 * is read; one that resolves to nothing is an error naming the reference, never a value.
 */
export function resolveSecret(ref: string, policy: CredentialPolicy): Secret {
  const value = readReference(ref, policy);
  return {
    ref,
    reveal: () => Buffer.from(value),
    revealText: () => secretText(value),
    toString: () => ref,
    toJSON: () => ref,
    [inspect.custom]: () => `Secret(${ref})`,
  } as Secret;
}

function readReference(ref: string, policy: CredentialPolicy): Buffer {
  if (!ref.startsWith('env:') && !ref.startsWith('file:')) {
    // Not echoed: what is not a reference may be the secret itself.
    throw new Error(
      'credentialRef is neither env:NAME nor file:PATH, the only references rmm reads secrets from (not shown: it may be the secret itself)',
    );
  }
  const refused = credentialRefusal(ref, policy);
  if (refused) throw new Error(`credential ${ref}: refused: ${refused}`);
  if (ref.startsWith('env:')) {
    const name = ref.slice('env:'.length);
    const value = process.env[name];
    if (value === undefined || value === '')
      throw new Error(`credential ${ref}: the environment variable ${name} is not set`);
    return Buffer.from(value);
  }
  const file = referencedFile(ref);
  try {
    return readCredentialFile(file);
  } catch (error) {
    const reason =
      error instanceof CredentialFileError
        ? error.message
        : ((error as NodeJS.ErrnoException).code ?? 'error');
    throw new Error(`credential ${ref}: cannot read ${file} (${reason})`);
  }
}

class CredentialFileError extends Error {}

/**
 * A regular file's bytes, at most MAX_CREDENTIAL_BYTES. Opened without blocking and without following
 * a final symlink, and checked on the open descriptor: a FIFO would block the event loop past every
 * timeout and /dev/zero never ends. Never reads more than the cap plus one byte.
 */
function readCredentialFile(file: string): Buffer {
  const fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0));
  try {
    const info = fstatSync(fd);
    if (!info.isFile())
      throw new CredentialFileError('not a regular file; rmm reads credentials only from regular files');
    const buffer = Buffer.alloc(MAX_CREDENTIAL_BYTES + 1);
    let length = 0;
    // Bounded: each read adds at least one byte, and the loop stops one byte past the cap.
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > MAX_CREDENTIAL_BYTES)
        throw new CredentialFileError(
          `over the limit of ${MAX_CREDENTIAL_BYTES / 1024} KiB for a credential`,
        );
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** A secret's value as text without one trailing newline (Secret.revealText). */
export function secretText(value: Buffer): string {
  return value.toString('utf8').replace(/\r?\n$/, '');
}
