import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnCli } from './cli.js';
import { type NatsServer, startNatsServer } from './nats-server.js';
import {
  type ConsoleSide,
  consoleSide,
  type Report,
  relayAuthorization,
  workMessage,
} from './relay-streams.js';
import { type SshWorkspace, sshWorkspace } from './ssh-workspace.js';
import { waitFor } from './wait.js';
import { makeThrowawayCertificate } from './winrm-peer/certificate.js';

/**
 * A relay's world for its tests: a real nats-server with JetStream and the design's authorization,
 * the console's side of the streams, a real sshd for the site's devices, and the relay's data dir
 * with its NATS password under credentials/. The relay itself runs as `node bin/run.js relay`.
 * Each device command appends its ActionId to a file on the sshd side: the record of what ran.
 */
export const RELAY = 'relay-alpha';
const RELAY_PASSWORD = 'relay-alpha-test-password';

export interface RelaySite {
  nats: NatsServer;
  console: ConsoleSide;
  ssh: SshWorkspace;
  dataDir: string;
  ranFile: string;
  startRelay(extra?: string[]): ReturnType<typeof spawnCli>;
  /** A work message whose command records its ActionId in ranFile (then runs `then`). */
  work(device: string, then?: string, overrides?: Record<string, unknown>): Record<string, unknown>;
  /** The ActionIds the devices ran, in order (one line each). */
  ran(): Promise<string[]>;
  /** Reads reports until `done` holds for what was read so far; returns them all. */
  collect(done: (reports: Report[]) => boolean, timeoutMs?: number): Promise<Report[]>;
  remove(): Promise<void>;
}

export async function relaySite(
  options: {
    ackWaitMs?: number;
    /** false: the test creates the relay's consumers later. */
    consumers?: boolean;
    /** The server speaks TLS only, with a throwaway certificate (its own CA: `caFile`). */
    tls?: boolean;
  } = {},
): Promise<RelaySite> {
  const ssh = await sshWorkspace('rmm-relay-');
  const consoleUser = { user: 'rmm-console', pass: 'console-test-password' };
  let caFile: string | undefined;
  let tlsConfig = '';
  if (options.tls) {
    const certificate = await makeThrowawayCertificate();
    caFile = path.join(ssh.cwd, 'nats-ca.pem');
    const keyFile = path.join(ssh.cwd, 'nats-key.pem');
    writeFileSync(caFile, certificate.certificatePem);
    writeFileSync(keyFile, certificate.keyPem, { mode: 0o600 });
    tlsConfig = `tls { cert_file: ${JSON.stringify(caFile)}, key_file: ${JSON.stringify(keyFile)} }`;
  }
  const nats = await startNatsServer({
    config: [relayAuthorization(consoleUser, { [RELAY]: RELAY_PASSWORD }), tlsConfig].join('\n'),
  });
  const url = caFile ? nats.url.replace('nats://', 'tls://') : nats.url;
  const side = await consoleSide(url, options.consumers === false ? [] : [RELAY], {
    ...consoleUser,
    ...(options.ackWaitMs ? { ackWaitMs: options.ackWaitMs } : {}),
    ...(caFile ? { caFile } : {}),
  });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rmm-relay-data-'));
  mkdirSync(path.join(dataDir, 'credentials'), { mode: 0o700 });
  const passwordFile = path.join(dataDir, 'credentials', 'nats-password');
  writeFileSync(passwordFile, `${RELAY_PASSWORD}\n`, { mode: 0o600 });
  chmodSync(dataDir, 0o700);
  const ranFile = path.join(ssh.cwd, 'ran.txt');
  const seen: Report[] = [];
  return {
    nats,
    console: side,
    ssh,
    dataDir,
    ranFile,
    startRelay: (extra = []) =>
      spawnCli(
        [
          'relay',
          '--name',
          RELAY,
          '--nats',
          url,
          ...(caFile ? ['--tls-ca', caFile] : []),
          '--creds',
          `file:${passwordFile}`,
          '--data-dir',
          dataDir,
          ...extra,
        ],
        { cwd: ssh.cwd, env: ssh.env },
      ),
    work(device, then = 'true', overrides = {}) {
      const message = workMessage(
        {
          name: device,
          host: ssh.sshd.host,
          transport: {
            type: 'ssh',
            port: ssh.sshd.port,
            user: ssh.sshd.user,
            credentialRef: `file:${ssh.sshd.clientKeyPath}`,
          },
        },
        '',
        overrides,
      );
      message.command ??= '';
      if (!overrides.command) message.command = `echo ${String(message.actionId)} >> ${ranFile}; ${then}`;
      return message;
    },
    async ran() {
      const text = await readFile(ranFile, 'utf8').catch(() => '');
      return text.split('\n').filter((line) => line !== '');
    },
    async collect(done, timeoutMs = 30_000) {
      await waitFor(
        'the reports',
        async () => {
          // NATS restarting (a fault test): JetStream answers again within the wait.
          await side.reports(RELAY, { waitMs: 1000, sink: seen }).catch(() => {});
          return done(seen) ? true : undefined;
        },
        { timeoutMs, intervalMs: 10 },
      );
      return [...seen];
    },
    async remove() {
      await side.close().catch(() => {});
      await nats.remove();
      await ssh.sshd.stop();
      await rm(ssh.cwd, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The finished reports by ActionId (a repeat would overwrite: count them apart when it matters). */
export function finishedById(reports: readonly Report[]): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const r of reports) if (r.body.kind === 'finished') out.set(String(r.body.actionId), r.body);
  return out;
}

/** Every id has its finished report. */
export function allFinished(ids: readonly string[]) {
  return (reports: readonly Report[]) => {
    const finished = finishedById(reports);
    return ids.every((id) => finished.has(id));
  };
}
