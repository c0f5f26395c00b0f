import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResultPromise } from 'execa';

/**
 * What the tests' real servers (sshd, nats-server, smbd) share: a free loopback port, a bounded
 * wait until the port answers, and a stop by pid that escalates to SIGKILL.
 */

/** A port nothing listens on right now: bind port 0, read what the OS chose, close. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port from the OS');
  return address.port;
}

/** Whether host:port takes a TCP connection (within 1 s). */
export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/**
 * Waits, bounded in time and tries, until `child` listens on host:port; otherwise kills it and fails
 * with the end of its log, or fails at once when it exits.
 */
export async function waitForListener(
  what: string,
  place: { host: string; port: number; child: ResultPromise; logPath: string; timeoutMs: number },
): Promise<void> {
  const { host, port, child, logPath, timeoutMs } = place;
  let exited = false;
  const settle = () => {
    exited = true;
  };
  void child.then(settle, settle);
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < timeoutMs / 20 && Date.now() < deadline && !exited; i++) {
    if (await accepts(host, port)) return;
    await sleep(20);
  }
  if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  const log = await readFile(logPath, 'utf8').catch(() => '');
  throw new Error(`${what} did not listen on ${host}:${port}\n${log.slice(-2000)}`);
}

/** Sends `signal`, then SIGKILL after graceMs; waits (bounded) for the process to be gone. */
export async function stopChild(
  child: ResultPromise | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 10_000,
): Promise<void> {
  if (!child) return;
  if (child.exitCode !== null || child.pid === undefined) {
    await child.catch(() => {});
    return;
  }
  const pid = child.pid;
  const exited = child.then(
    () => true,
    () => true,
  );
  try {
    process.kill(pid, signal);
  } catch {}
  const inTime = await Promise.race([exited, sleep(graceMs).then(() => false)]);
  if (!inTime) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    await Promise.race([exited, sleep(graceMs)]);
  }
}

/**
 * Starts a server on a free port, trying another when the port found free was taken before the
 * server bound it (at most 5 ports). `start` configures and launches it on the port, throwing when
 * it does not listen; on the last failure `dir` (the server's folder) is removed and the error thrown.
 */
export async function startOnFreePort(
  what: string,
  dir: string,
  start: (port: number) => Promise<void>,
): Promise<number> {
  let lastError: unknown = new Error(`${what} did not start`);
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      await start(port);
      return port;
    } catch (error) {
      lastError = error;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}
