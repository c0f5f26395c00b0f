import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { startOnFreePort, stopChild, waitForListener } from './child-server.js';

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
    await waitForListener('smbd', { host: '127.0.0.1', port, child: started, logPath, timeoutMs: 15_000 });
    child = started;
  };

  // A port found free can be taken before smbd binds it: then another is tried.
  let userAdded = false;
  await startOnFreePort('smbd', dir, async (free) => {
    port = free;
    await writeConfig();
    if (!userAdded) {
      await execa('smbpasswd', ['-c', configPath, '-s', '-a', user], { input: `${password}\n${password}\n` });
      userAdded = true;
    }
    await launch();
  });

  const stop = async () => {
    const running = child;
    child = undefined;
    await stopChild(running);
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
