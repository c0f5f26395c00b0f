import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { startOnFreePort, stopChild, waitForListener } from './child-server.js';

/** Debian's package (nats-server 2.9.10): .ci/run installs it through scripts/test-setup.sh. */
const NATS_SERVER = '/usr/sbin/nats-server';

export interface NatsServer {
  /** `nats://HOST:PORT`. */
  url: string;
  port: number;
  pid: number;
  /** JetStream's store: kept across stop()/start(), removed by remove(). */
  storeDir: string;
  /** What the server logged. */
  logPath: string;
  /** SIGKILL (no clean shutdown), as a crash or a pulled plug would. */
  kill(): Promise<void>;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same store and configuration. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

export interface NatsServerOptions {
  /**
   * Extra configuration text (an `authorization { ... }` block, say), appended to the generated
   * file that sets the port, the loopback address and JetStream's store. Environment variables it
   * names ($VAR) are read from `env`.
   */
  config?: string;
  env?: Record<string, string>;
  /** Where to listen (default 127.0.0.1): a remote site's relay reaches the console's veth address. */
  host?: string;
  /**
   * Replaces the generated file whole (a documented nats-server.conf, say): given the port to listen
   * on, the store and the folder, it returns the configuration text. `config` is not used then.
   */
  configFile?: (place: { port: number; storeDir: string; dir: string }) => string;
  /** Files written into the server's folder before it starts (an included file, certificates). */
  files?: Record<string, string>;
}

/**
 * Starts Debian's nats-server with JetStream on a free loopback port, its store and configuration
 * under a fresh temp folder. Stop it with stop()/kill() by pid; remove() deletes the folder.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-nats-'));
  const storeDir = path.join(dir, 'jetstream');
  const logPath = path.join(dir, 'nats.log');
  const configPath = path.join(dir, 'nats.conf');
  const host = options.host ?? '127.0.0.1';
  let port = 0;
  let child: ResultPromise | undefined;

  const launch = async () => {
    const started = execa(NATS_SERVER, ['-c', configPath], {
      stdin: 'ignore',
      reject: false,
      buffer: false,
      env: { ...process.env, ...options.env },
    });
    await waitForListener('nats-server', { host, port, child: started, logPath, timeoutMs: 10_000 });
    child = started;
  };

  await startOnFreePort('nats-server', dir, async (free) => {
    port = free;
    for (const [name, text] of Object.entries(options.files ?? {}))
      await writeFile(path.join(dir, name), text);
    const generated = options.configFile
      ? `${options.configFile({ port, storeDir, dir })}\nlog_file: ${JSON.stringify(logPath)}\n`
      : [
          `listen: ${host}:${port}`,
          `log_file: ${JSON.stringify(logPath)}`,
          `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
          options.config ?? '',
          '',
        ].join('\n');
    await writeFile(configPath, generated);
    await launch();
  });

  const stopWith = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    await stopChild(running, signal);
  };

  return {
    url: `nats://${host}:${port}`,
    get port() {
      return port;
    },
    get pid() {
      return child?.pid ?? -1;
    },
    storeDir,
    logPath,
    kill: () => stopWith('SIGKILL'),
    stop: () => stopWith('SIGTERM'),
    async start() {
      if (child) return;
      await launch();
    },
    async remove() {
      await stopWith('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
