import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The console's job-signing key: RSA 3072, PKCS#1 v1.5 with SHA-256. Not Ed25519, which the brief
 * preferred: Windows PowerShell 5.1 (.NET Framework) cannot verify Ed25519, and RSACryptoServiceProvider
 * and `openssl dgst -verify` both verify this, so both consumers check the same signature.
 */
export const SIGNING_ALGORITHM = 'RSA-SHA256';
const PRIVATE_FILE = 'smb-signing-key.pem';

export interface SigningKey {
  sign(payload: Buffer): Buffer;
  /** SPKI PEM, for the POSIX consumer (openssl). */
  publicPem: string;
  /** `<RSAKeyValue>`, for the PowerShell consumer (RSACryptoServiceProvider.FromXmlString). */
  publicXml: string;
}

/**
 * Reads the key from stateDir, creating it on first use. The private key never leaves this file
 * (0600, in the core's 0700 folder); two processes creating it at once keep the first one written.
 */
export async function loadSigningKey(stateDir: string): Promise<SigningKey> {
  const file = path.join(stateDir, PRIVATE_FILE);
  let pem = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (pem === undefined) pem = await createKeyFile(file);
  return signingKeyOf(createPrivateKey(pem));
}

async function createKeyFile(file: string): Promise<string> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, pem, { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(temporary, { force: true });
  }
  return readFile(file, 'utf8');
}

function signingKeyOf(privateKey: KeyObject): SigningKey {
  const publicKey = createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' });
  const b64 = (value: string | undefined) => Buffer.from(value ?? '', 'base64url').toString('base64');
  return {
    sign: (payload) => sign('sha256', payload, privateKey),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    publicXml: `<RSAKeyValue><Modulus>${b64(jwk.n)}</Modulus><Exponent>${b64(jwk.e)}</Exponent></RSAKeyValue>`,
  };
}
