import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { loadSigningKey } from '../../plugins/smb/src/signing-key.js';
import { createSmbTransport, type SmbTransportSettings } from '../../plugins/smb/src/transport.js';
import { type QueueConnection, type QueuedAction, TransportError } from '../../src/plugin/api.js';
import type { Smbd } from '../helpers/smbd.js';
import { testSecret } from '../helpers/transport.js';

export const CONSUMER = path.resolve(import.meta.dirname, '../../plugins/smb/consumers/rmm-smb-consumer.sh');
export const DEVICE = 'web-01';

/** The console's side (its state folder with the key) and the device's (the consumer's state). */
export interface SmbWorld {
  consoleState: string;
  deviceState: string;
  keyFile: string;
  open(options?: { password?: string; settings?: SmbTransportSettings }): Promise<QueueConnection>;
  /** Runs the POSIX consumer once on the share's folder, as cron would on the device. */
  consume(options?: { maxJobs?: number }): Promise<{ exitCode: number | undefined; stderr: string }>;
  remove(): Promise<void>;
}

export async function smbWorld(smbd: Smbd): Promise<SmbWorld> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'rmm-smb-world-'));
  const consoleState = path.join(root, 'console');
  const deviceState = path.join(root, 'device');
  await execa('mkdir', ['-m', '700', consoleState, deviceState]);
  const key = await loadSigningKey(consoleState);
  const keyFile = path.join(root, 'console-key.pem');
  await writeFile(keyFile, key.publicPem);
  return {
    consoleState,
    deviceState,
    keyFile,
    async open(options = {}) {
      const transport = createSmbTransport({ apiVersion: 1, TransportError }, options.settings);
      const queue = transport.queue as NonNullable<typeof transport.queue>;
      return queue.open(
        {
          name: DEVICE,
          options: {
            host: smbd.host,
            port: smbd.port,
            share: smbd.share,
            user: smbd.user,
            protection: 'encrypt',
          },
        },
        {
          secret: testSecret('env:RMM_SMB_PASSWORD', options.password ?? smbd.password),
          connectTimeoutMs: 5000,
          stateDir: consoleState,
        },
      );
    },
    async consume(options = {}) {
      const run = await execa(
        'sh',
        [
          CONSUMER,
          ...['--share', smbd.shareDir, '--state', deviceState, '--device', DEVICE, '--key', keyFile],
          ...['--max-jobs', String(options.maxJobs ?? 100)],
        ],
        { reject: false, timeout: 600_000 },
      );
      return { exitCode: run.exitCode, stderr: String(run.stderr) };
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

export function action(command: string, overrides: Partial<QueuedAction> = {}): QueuedAction {
  return {
    actionId: randomUUID(),
    type: 'exec',
    device: {
      name: DEVICE,
      host: '127.0.0.1',
      os: 'linux',
      transport: { type: 'smb', credentialRef: 'env:X' },
    },
    command,
    timeoutMs: 30_000,
    connectTimeoutMs: 5000,
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    ...overrides,
  };
}

export async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [])).sort();
}

export const readText = (file: string) => readFile(file, 'utf8').catch(() => '');
