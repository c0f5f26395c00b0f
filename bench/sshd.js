// A real OpenSSH server on 127.0.0.1 for the fan-out benchmark: test/helpers/sshd.ts in plain JS,
// with the same config (see that file for why SHLVL=1, MaxStartups and MaxSessions). Key auth only,
// everything in a fresh temp folder; stop() kills it by pid and removes the folder.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const SSHD = '/usr/sbin/sshd'; // sshd refuses to re-exec itself unless started by absolute path

export async function startSshd() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-bench-sshd-'));
  let child;
  try {
    try {
      mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation, root only
    } catch {}
    const keygen = (file, comment) =>
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], {
        timeout: 10_000,
      });
    const hostKeyPath = path.join(dir, 'host_ed25519');
    const clientKeyPath = path.join(dir, 'client_ed25519');
    keygen(hostKeyPath, 'rmm-bench-host');
    keygen(clientKeyPath, 'rmm-bench-client');
    const hostPublicKey = readFileSync(`${hostKeyPath}.pub`, 'utf8').trim();
    const authorizedKeysPath = path.join(dir, 'authorized_keys');
    writeFileSync(authorizedKeysPath, readFileSync(`${clientKeyPath}.pub`), { mode: 0o600 });
    const pidFile = path.join(dir, 'sshd.pid');
    const configPath = path.join(dir, 'sshd_config');
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      writeFileSync(
        configPath,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${hostKeyPath}`,
          `AuthorizedKeysFile ${authorizedKeysPath}`,
          `PidFile ${pidFile}`,
          'StrictModes no',
          'UsePAM no',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PubkeyAuthentication yes',
          'PermitRootLogin yes',
          'MaxStartups 1000:30:1000',
          'MaxSessions 1000',
          'LogLevel ERROR',
          'SetEnv SHLVL=1',
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      rmSync(pidFile, { force: true });
      child = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      if (await listening(child, port, pidFile)) {
        const knownHostsPath = path.join(dir, 'known_hosts');
        writeFileSync(knownHostsPath, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
        const sshd = child;
        return {
          pid: sshd.pid,
          port,
          host: '127.0.0.1',
          user: os.userInfo().username,
          hostPublicKey,
          clientKeyPath,
          knownHostsPath,
          dir,
          stop: async () => {
            await stop(sshd);
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      await stop(child);
      if (attempt === 4) throw new Error(`sshd did not start: ${stderr.trim()}`);
    }
  } catch (error) {
    if (child) await stop(child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Our sshd listens once its PidFile holds its pid and the port accepts; bounded to 5 s. */
async function listening(child, port, pidFile) {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && child.exitCode === null) {
    let pid = '';
    try {
      pid = readFileSync(pidFile, 'utf8').trim();
    } catch {}
    if (pid === String(child.pid) && (await accepts(port))) return true;
    await sleep(50);
  }
  return false;
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.setTimeout(1000);
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** SIGTERM by pid, SIGKILL after 2 s; waits (bounded) for the exit. */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', () => resolve(true)));
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {}
  if (await Promise.race([exited, sleep(2000).then(() => false)])) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {}
  await Promise.race([exited, sleep(2000)]);
}
