import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { freePort } from './sshd.js';

/** Debian's samba package (4.17 here): .ci/run installs it through scripts/test-setup.sh. */
const SMBD = '/usr/sbin/smbd';
/**
 * The Unix account the Samba user maps to. An existing one, so the tests add no system user; files
 * on the share belong to the test's own user through `force user`.
 */
const UNIX_ACCOUNT = 'nobody';

export interface Smbd {
  host: string;
  port: number;
  pid: number;
  share: string;
  /** The folder the share serves: what the device's consumer works on. */
  shareDir: string;
  user: string;
  password: string;
  /** The folder holding smb.conf, its private/state/lock folders and the log. */
  dir: string;
  logPath: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

/**
 * Starts a real smbd (as root: it needs to) with its own smb.conf under a fresh temp folder, on a
 * free loopback port, with its own passdb and one user, and one share `rmm$` that requires SMB 3
 * encryption and signing. Stop it by pid with stop(); remove() also deletes the folder.
 */
export async function startSmbd(): Promise<Smbd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-smbd-'));
  await chmod(dir, 0o755);
  const shareDir = path.join(dir, 'share');
  const logPath = path.join(dir, 'smbd.log');
  const configPath = path.join(dir, 'smb.conf');
  for (const sub of ['share', 'private', 'state', 'cache', 'lock', 'pid', 'ncalrpc'])
    await mkdir(path.join(dir, sub), { recursive: true });
  const password = `pw-${Math.random().toString(36).slice(2)}-Smb`;
  const user = UNIX_ACCOUNT;
  let port = 0;
  let child: ResultPromise | undefined;

  const writeConfig = () =>
    writeFile(
      configPath,
      [
        '[global]',
        `  smb ports = ${port}`,
        '  bind interfaces only = yes',
        '  interfaces = 127.0.0.1',
        `  private dir = ${dir}/private`,
        `  state directory = ${dir}/state`,
        `  cache directory = ${dir}/cache`,
        `  lock directory = ${dir}/lock`,
        `  pid directory = ${dir}/pid`,
        `  ncalrpc dir = ${dir}/ncalrpc`,
        `  log file = ${logPath}`,
        `  passdb backend = tdbsam:${dir}/private/passdb.tdb`,
        '  server role = standalone server',
        '  server min protocol = SMB3',
        '  server smb encrypt = required',
        '  server signing = mandatory',
        '  disable netbios = yes',
        '  load printers = no',
        '  printing = bsd',
        '  printcap name = /dev/null',
        '  disable spoolss = yes',
        '  map to guest = never',
        '[rmm$]',
        `  path = ${shareDir}`,
        '  read only = no',
        '  browseable = no',
        `  valid users = ${user}`,
        `  force user = ${os.userInfo().username}`,
        '',
      ].join('\n'),
    );

  const launch = async () => {
    // Without --no-process-group smbd starts a session of its own: it signals its whole group when
    // it stops, which must not be this test's.
    const started = execa(SMBD, ['--foreground', `--configfile=${configPath}`], {
      // smbd's helper processes inherit its outputs: a pipe would stay open after smbd exits.
      stdio: 'ignore',
      reject: false,
    });
    await waitForListener(port, started, logPath);
    child = started;
  };

  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    port = await freePort();
    await writeConfig();
    if (attempt === 0)
      await execa('smbpasswd', ['-c', configPath, '-s', '-a', user], { input: `${password}\n${password}\n` });
    try {
      await launch();
      lastError = undefined;
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (lastError || !child) {
    await rm(dir, { recursive: true, force: true });
    throw lastError ?? new Error('smbd did not start');
  }

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.pid === undefined || running.exitCode !== null) return;
    const exited = running.then(
      () => true,
      () => true,
    );
    try {
      process.kill(running.pid, 'SIGTERM');
    } catch {}
    const done = await Promise.race([exited, sleep(10_000).then(() => false)]);
    if (!done) {
      try {
        process.kill(running.pid, 'SIGKILL');
      } catch {}
      await exited;
    }
  };

  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    get pid() {
      return child?.pid ?? -1;
    },
    share: 'rmm$',
    shareDir,
    user,
    password,
    dir,
    logPath,
    stop,
    async start() {
      if (!child) await launch();
    },
    async remove() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits (bounded) until the port takes connections, or fails with the server's log. */
async function waitForListener(port: number, child: ResultPromise, logPath: string): Promise<void> {
  let exited = false;
  const settle = () => {
    exited = true;
  };
  void child.then(settle, settle);
  const deadline = Date.now() + 15_000;
  for (let i = 0; i < 750 && Date.now() < deadline && !exited; i++) {
    if (await accepts(port)) return;
    await sleep(20);
  }
  if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  const log = await readFile(logPath, 'utf8').catch(() => '');
  throw new Error(`smbd did not listen on 127.0.0.1:${port}\n${log.slice(-2000)}`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
