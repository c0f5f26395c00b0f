import { readFileSync } from 'node:fs';
import os from 'node:os';
import { inspect } from 'node:util';
import type { Secret } from '../plugin/api.js';

/**
 * A credential reference (`env:NAME` or `file:PATH`) resolved when a connection needs it. The value
 * is read at that moment and only reveal() gives it; printing, logging or JSON shows the reference.
 * A reference that resolves to nothing is an error naming the reference, never a value.
 */
export function resolveSecret(ref: string): Secret {
  const value = readReference(ref);
  return {
    ref,
    reveal: () => Buffer.from(value),
    toString: () => ref,
    toJSON: () => ref,
    [inspect.custom]: () => `Secret(${ref})`,
  } as Secret;
}

function readReference(ref: string): Buffer {
  if (ref.startsWith('env:')) {
    const name = ref.slice('env:'.length);
    const value = process.env[name];
    if (value === undefined || value === '')
      throw new Error(`credential ${ref}: the environment variable ${name} is not set`);
    return Buffer.from(value);
  }
  if (ref.startsWith('file:')) {
    const file = ref.slice('file:'.length).replace(/^~(?=$|\/)/, os.homedir());
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(
        `credential ${ref}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  // Not echoed: what is not a reference may be the secret itself.
  throw new Error(
    'credentialRef is neither env:NAME nor file:PATH, the only references rmm reads secrets from (not shown: it may be the secret itself)',
  );
}
