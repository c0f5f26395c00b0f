import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ThrowawayCertificate {
  certificatePem: string;
  keyPem: string;
  /** Colon-separated upper-case hex, as X509Certificate.fingerprint256 gives it. */
  fingerprint256: string;
}

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made by the openssl CLI in a temp folder
 * that is gone again when this returns. EC P-256 because it takes milliseconds where RSA takes a
 * noticeable fraction of a second.
 */
export async function makeThrowawayCertificate(): Promise<ThrowawayCertificate> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-winrm-peer-cert-'));
  try {
    const keyPath = path.join(dir, 'key.pem');
    const certPath = path.join(dir, 'cert.pem');
    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { timeout: 20_000 },
    );
    const [certificatePem, keyPem] = await Promise.all([
      readFile(certPath, 'utf8'),
      readFile(keyPath, 'utf8'),
    ]);
    return { certificatePem, keyPem, fingerprint256: new X509Certificate(certificatePem).fingerprint256 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
