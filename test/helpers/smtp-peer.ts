import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SYSTEM_PYTHON } from './python-peer.js';
import { waitFor } from './wait.js';
import { makeThrowawayCertificate } from './winrm-peer/certificate.js';

/**
 * A real SMTP server for the email sender's tests: Debian's python3-aiosmtpd (smtp_peer.py) on a
 * free loopback port, with STARTTLS (a throwaway certificate) required before AUTH, or without any
 * TLS; AUTH PLAIN/LOGIN for one user. Every message received is kept as a file to parse.
 */
export interface SmtpPeer {
  port: number;
  user: string;
  password: string;
  /** The certificate the server presents (PEM file), for the sender's `tls.caFile`. */
  caFile: string;
  /** The messages received so far, in order, as Python's email parser read them. */
  messages(): ReceivedMail[];
  /** The answer to the next DATA (`451 4.3.0 try later`, `554 5.7.1 no`) instead of 250. */
  replyNext(answer: string): void;
  close(): Promise<void>;
}

export interface ReceivedMail {
  mailFrom: string;
  rcptTos: string[];
  subject: string;
  messageId: string;
  from: string;
  to: string;
  autoSubmitted: string;
  text: string | null;
  /** Whether the session had switched to TLS (STARTTLS) when the mail came. */
  tls: boolean;
  authenticated: boolean;
  raw: string;
}

const SCRIPT = path.join(import.meta.dirname, 'smtp_peer.py');

export async function startSmtpPeer(options: { tls?: boolean } = {}): Promise<SmtpPeer> {
  const folder = mkdtempSync(path.join(tmpdir(), 'rmm-smtp-peer-'));
  const certificate = await makeThrowawayCertificate();
  const caFile = path.join(folder, 'cert.pem');
  writeFileSync(caFile, certificate.certificatePem);
  writeFileSync(path.join(folder, 'key.pem'), certificate.keyPem, { mode: 0o600 });
  const user = 'rmm';
  const password = `pw-${process.pid}-${Date.now()}`;
  const port = await freePort();
  const mode = options.tls === false ? 'plain' : 'starttls';
  const child = spawn(SYSTEM_PYTHON, ['-I', SCRIPT, folder, String(port), mode, user, password], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await waitFor(
    'the SMTP peer to listen',
    () => {
      if (exited) throw new Error(`the SMTP peer exited: ${output}`);
      return output.includes('READY') ? true : undefined;
    },
    { timeoutMs: 15_000 },
  );
  const emls = () =>
    readdirSync(folder)
      .filter((name) => /^\d+\.eml$/.test(name))
      .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
  return {
    port,
    user,
    password,
    caFile,
    messages: () =>
      emls().map((name) => ({
        ...(JSON.parse(
          readFileSync(path.join(folder, name.replace(/eml$/, 'json')), 'utf8'),
        ) as ReceivedMail),
        raw: readFileSync(path.join(folder, name), 'utf8'),
      })),
    replyNext: (answer) => writeFileSync(path.join(folder, 'reply'), answer),
    close: () => stop(child, folder),
  };
}

async function stop(child: ChildProcess, folder: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await exited;
  }
  rmSync(folder, { recursive: true, force: true });
}

/** A loopback port nothing listens on (taken, then released for the peer). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
