import { mkdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { accepts, freePort, stopChild } from './child-server.js';

/** The Debian package's binary: sshd refuses to re-exec itself unless started by absolute path. */
const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  port: number;
  /** The sshd listener's process id (the benchmark reads its CPU time from /proc). */
  pid: number;
  /** 127.0.0.1, or the address in the namespace given to startSshd. */
  host: string;
  /** The current OS user: the tests log in as whoever runs them. */
  user: string;
  hostKeyPath: string;
  /** OpenSSH public key line: `ssh-ed25519 AAAA... comment`. */
  hostPublicKey: string;
  /** As `ssh-keygen -l` prints it: `SHA256:` and unpadded base64. */
  hostKeyFingerprint: string;
  /** Unencrypted ed25519 private key (OpenSSH format) authorized for `user`. */
  clientKeyPath: string;
  clientPublicKey: string;
  /** One line: `[127.0.0.1]:port ssh-ed25519 AAAA...`. */
  knownHostsPath: string;
  /** What sshd logs, one connection per `Connection from` line (LogLevel VERBOSE). */
  logPath: string;
  dir: string;
  stop(): Promise<void>;
  /**
   * The host goes down: the listener and every connection it serves are killed, so clients see
   * their sessions end and new connections refused. `resume` starts it again on the same port.
   */
  halt(): Promise<void>;
  resume(): Promise<void>;
}

/**
 * Starts a real OpenSSH server on 127.0.0.1 for tests, everything under a fresh temp folder, key
 * auth only. Needs `openssh-server` (.ci/run installs it) and, for root, /run/sshd.
 *
 * Why the login shell matters: Debian's bash sources ~/.bashrc even for `bash -c` when it sees
 * SSH_CLIENT (it is built with SSH_SOURCE_BASHRC), and a developer's .bashrc can be slow (root's
 * here runs `pyenv init`: an exec of `true` took 140 ms instead of 3 ms). bash skips it only when it
 * is not a top-level shell, so the config sets SHLVL=1 for sessions: the login shell then counts
 * itself as level 2 and reads no start-up file. Commands still run through the user's shell with
 * -c, as they do in production.
 *
 * Logging in as root (the tests do when run as root) matters too: OpenSSH refuses session signal
 * requests for root logins, so the transport's timeout takes its other path (see PID_LINE in
 * plugins/ssh/src/pid-line.ts). With UsePAM no, sshd refuses a locked account (`!` in /etc/shadow).
 */
export interface SshdOptions {
  /**
   * Run inside this network namespace (test/helpers/netns.ts), listening on `address` there: the
   * relay tests' endpoint, which this namespace cannot reach.
   */
  netns?: { name: string; address: string };
}

export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-sshd-'));
  try {
    // The privilege separation directory; only root can create it, and only root needs it.
    try {
      mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    } catch {}
    const hostKeyPath = path.join(dir, 'host_ed25519');
    const clientKeyPath = path.join(dir, 'client_ed25519');
    await keygen(hostKeyPath, 'rmm-test-host');
    await keygen(clientKeyPath, 'rmm-test-client');
    const hostPublicKey = (await readFile(`${hostKeyPath}.pub`, 'utf8')).trim();
    const clientPublicKey = (await readFile(`${clientKeyPath}.pub`, 'utf8')).trim();
    const authorizedKeysPath = path.join(dir, 'authorized_keys');
    await writeFile(authorizedKeysPath, `${clientPublicKey}\n`, { mode: 0o600 });
    const { stdout: listing } = await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKeyPath}.pub`]);
    const hostKeyFingerprint = listing.split(' ')[1] ?? '';
    if (!hostKeyFingerprint.startsWith('SHA256:'))
      throw new Error(`unexpected ssh-keygen -l output: ${listing}`);

    const user = os.userInfo().username;
    const host = options.netns?.address ?? '127.0.0.1';
    // `ip netns exec` execs sshd in place: the pid is still sshd's.
    const command = options.netns ? ['ip', 'netns', 'exec', options.netns.name, SSHD] : [SSHD];
    const launch = () =>
      execa(command[0] as string, [...command.slice(1), '-D', '-E', logPath, '-f', configPath], {
        detached: false,
        stdin: 'ignore',
        reject: false,
        buffer: true,
      });
    // From here the namespace's address cannot be dialled: sshd's own log says when it listens.
    const listening = options.netns
      ? async (port: number) =>
          (await readFile(logPath, 'utf8').catch(() => '')).includes(
            `Server listening on ${host} port ${port}`,
          )
      : (port: number) => accepts('127.0.0.1', port);
    const configPath = path.join(dir, 'sshd_config');
    const logPath = path.join(dir, 'sshd.log');
    // A port found free can be taken before sshd binds it: then sshd exits and we try another.
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      await writeFile(configPath, sshdConfig(dir, host, port, hostKeyPath, authorizedKeysPath), {
        mode: 0o600,
      });
      const pidFile = path.join(dir, 'sshd.pid');
      await rm(pidFile, { force: true });
      const child = launch();
      try {
        await waitForPort(port, pidFile, child, logPath, listening);
      } catch (error) {
        lastError = error;
        await stopChild(child, 'SIGTERM', 2000);
        continue;
      }
      const knownHostsPath = path.join(dir, 'known_hosts');
      await writeFile(knownHostsPath, `[${host}]:${port} ${hostPublicKey}\n`);
      let running = child;
      return {
        port,
        get pid() {
          return running.pid as number;
        },
        host,
        user,
        hostKeyPath,
        hostPublicKey,
        hostKeyFingerprint,
        clientKeyPath,
        clientPublicKey,
        knownHostsPath,
        logPath,
        dir,
        async stop() {
          await stopChild(running, 'SIGTERM', 2000);
          await rm(dir, { recursive: true, force: true });
        },
        async halt() {
          // The connections first: they hold the listener's output pipes, which its exit waits on.
          for (const pid of await childPids(running.pid as number)) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {}
          }
          await stopChild(running, 'SIGTERM', 2000);
        },
        async resume() {
          await rm(pidFile, { force: true });
          running = launch();
          await waitForPort(port, pidFile, running, logPath, listening);
        },
      };
    }
    throw new Error(`sshd did not start after 5 attempts: ${String(lastError)}`);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function sshdConfig(
  dir: string,
  host: string,
  port: number,
  hostKeyPath: string,
  authorizedKeysPath: string,
): string {
  return [
    `Port ${port}`,
    `ListenAddress ${host}`,
    `HostKey ${hostKeyPath}`,
    `AuthorizedKeysFile ${authorizedKeysPath}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    // The temp folder and the keys are the test's own; strict modes would also vet $HOME.
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin yes',
    // Tests open many connections and sessions at once; the defaults (10:30:100, 10) would drop them.
    'MaxStartups 1000:30:1000',
    'MaxSessions 1000',
    // VERBOSE logs each connection, so a test can tell that none was made.
    'LogLevel VERBOSE',
    // See startSshd: keeps bash from sourcing ~/.bashrc for every command.
    'SetEnv SHLVL=1',
    // -f replaces /etc/ssh/sshd_config, where Debian declares SFTP: without this line SFTP is refused.
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

/** The processes whose parent is `parent` (sshd forks one per connection), read from /proc. */
async function childPids(parent: number): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // The command name (field 2) is in parentheses and may hold spaces: fields count after it.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === parent) pids.push(Number(name));
  }
  return pids;
}

async function keygen(file: string, comment: string): Promise<void> {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/**
 * Bounded: 5 s, every 50 ms. sshd writes its PidFile only once it listens, so the pid in it plus an
 * answering port means our sshd (not whoever else took the port). Fails early if sshd exits.
 */
async function waitForPort(
  port: number,
  pidFile: string,
  child: ResultPromise,
  logPath: string,
  listening: (port: number) => Promise<boolean>,
): Promise<void> {
  let exited = false;
  const settle = () => {
    exited = true;
  };
  void child.then(settle, settle);
  const deadline = Date.now() + 5000;
  for (let i = 0; i < 100 && Date.now() < deadline && !exited; i++) {
    const pid = await readFile(pidFile, 'utf8').catch(() => '');
    if (pid.trim() === String(child.pid) && (await listening(port))) return;
    await sleep(50);
  }
  if (!exited) throw new Error(`sshd did not accept connections on port ${port} within 5 s`);
  const result = await child;
  const log = await readFile(logPath, 'utf8').catch(() => '');
  throw new Error(`sshd exited (${result.exitCode}): ${`${String(result.stderr)}\n${log}`.trim()}`);
}
