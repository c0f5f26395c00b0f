import { constants } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { Fail, Secret } from 'rmm/plugin';

/** Where a device's queue is, from its validated options. */
export interface ShareAddress {
  host: string;
  port: number;
  share: string;
  user: string;
  domain?: string;
  protection: 'encrypt' | 'sign';
}

export interface SmbclientRun {
  /** smbclient's stdout, then its stderr. */
  output: string;
  /** Lines starting with NT_STATUS_: one per command that failed, naming its file. */
  failures: string[];
}

/**
 * Runs one smbclient process for a batch of commands (put, rename, ls, get, del). Commands go in on
 * stdin, not as -c: no length limit, and not in `ps`. The credential goes in through an
 * authentication file that is a FIFO (0600, in a fresh private folder, removed once smbclient
 * exits), so it is never on a command line, in any environment, or at rest on disk. A batch whose connection failed is a
 * TransportError (without the password); failures of single commands are returned for the caller.
 */
export async function runSmbclient(
  address: ShareAddress,
  secret: Secret | undefined,
  commands: readonly string[],
  options: { timeoutMs: number; signal?: AbortSignal; fail: Fail },
): Promise<SmbclientRun> {
  const where = `//${address.host}/${address.share} (port ${address.port})`;
  if (secret === undefined)
    throw options.fail('auth-failed', `${where}: the device has no credentialRef: SMB needs a password`);
  const password = secret.revealText();
  if (/[\r\n]/.test(password) || /[\r\n]/.test(address.user))
    throw options.fail('auth-failed', `${where}: the credential (${secret.ref}) holds a line break`);
  const folder = await mkdtemp(path.join(os.tmpdir(), 'rmm-smb-auth-'));
  try {
    const authFile = path.join(folder, 'auth');
    const lines = [`username = ${address.user}`, `password = ${password}`];
    if (address.domain) lines.push(`domain = ${address.domain}`);
    await execa('mkfifo', ['-m', '600', authFile], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      extendEnv: false,
    });
    const running = execa(
      'smbclient',
      [
        `//${address.host}/${address.share}`,
        '--port',
        String(address.port),
        '--authentication-file',
        authFile,
        '--max-protocol',
        'SMB3',
        '--option=client min protocol=SMB3',
        `--client-protection=${address.protection}`,
        '--timeout',
        String(Math.max(1, Math.ceil(options.timeoutMs / 1000))),
      ],
      {
        input: `${commands.join('\n')}\nexit\n`,
        reject: false,
        timeout: options.timeoutMs + 5000,
        cancelSignal: options.signal,
        // Only what smbclient needs: nothing of the console's environment (its secrets) is passed on.
        env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin' },
        extendEnv: false,
      },
    );
    const ended = { ended: false };
    // A FIFO that cannot be written would leave smbclient waiting on it: stopped, and said.
    const feeding = feedFifo(authFile, `${lines.join('\n')}\n`, ended, options.timeoutMs).then(
      () => undefined,
      (error: NodeJS.ErrnoException) => {
        running.kill();
        return error.code ?? 'error';
      },
    );
    const child = await running.finally(() => {
      ended.ended = true;
    });
    const feedProblem = await feeding;
    if (feedProblem)
      throw options.fail('protocol', `${where}: could not hand smbclient its credential (${feedProblem})`);
    // Each stream whole, one after the other: interleaved, a chunk of one can split a line of the other.
    const output = `${child.stdout}\n${child.stderr}`.replaceAll(password, '***');
    if (child.timedOut)
      throw options.fail('timed-out', `${where}: smbclient took over ${options.timeoutMs} ms`);
    if (child.isCanceled) throw options.fail('unreachable', `${where}: cancelled`);
    const connectionProblem = connectionFailure(output);
    if (connectionProblem)
      throw options.fail(connectionProblem.code, `${where}: ${connectionProblem.message}`);
    if (child.exitCode !== 0 && child.exitCode !== undefined)
      throw options.fail('protocol', `${where}: smbclient exited ${child.exitCode}: ${firstLines(output)}`, {
        commandSent: true,
      });
    return { output, failures: output.split('\n').filter((line) => line.startsWith('NT_STATUS_')) };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * The authentication file is a FIFO (mode 0600, in a fresh 0700 folder): smbclient reads the
 * credential through it once and it never rests on disk, so a console killed (SIGKILL) while
 * smbclient runs leaves an empty pipe behind, not the password. The FIFO is opened for writing
 * without blocking (a blocking open would hold one of libuv's four threads until smbclient reads,
 * or for ever if it never does), tried until smbclient has it open, bounded by `until` and a count.
 */
async function feedFifo(fifo: string, content: string, until: { ended: boolean }, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 100_000 && !until.ended && Date.now() < deadline; attempt++) {
    const writer = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENXIO') return undefined; // no reader yet
      throw error;
    });
    if (writer) {
      try {
        await writer.writeFile(content); // a few dozen bytes: one write, within the pipe's buffer
      } finally {
        await writer.close();
      }
      return;
    }
    await sleep(Math.min(1 + attempt, 10));
  }
}

/** Before any command: nothing was sent. (A disconnect mid-batch names the file of the command it broke.) */
const UNREACHABLE =
  /^NT_STATUS_(CONNECTION_REFUSED|HOST_UNREACHABLE|NETWORK_UNREACHABLE|IO_TIMEOUT|BAD_NETWORK_PATH)$/;

/** Failures of the connection itself, which smbclient prints before running any command. */
function connectionFailure(
  output: string,
): { code: 'unreachable' | 'auth-failed' | 'protocol'; message: string } | undefined {
  const status = /NT_STATUS_[A-Z_]+/.exec(output)?.[0];
  if (/^session setup failed/m.test(output) || status === 'NT_STATUS_LOGON_FAILURE')
    return {
      code: 'auth-failed',
      message: `the share refused the user name or password (${status ?? 'session setup failed'})`,
    };
  if (/^tree connect failed/m.test(output)) {
    const denied = status === 'NT_STATUS_ACCESS_DENIED';
    return {
      code: denied ? 'auth-failed' : 'protocol',
      message: denied
        ? 'the user may not open this share'
        : `no such share here (${status ?? 'tree connect failed'})`,
    };
  }
  if (/^do_connect:|^Connection to .* failed/m.test(output) || (status && UNREACHABLE.test(status)))
    return { code: 'unreachable', message: `cannot connect (${status ?? 'connection failed'})` };
  if (/^protocol negotiation failed/m.test(output))
    return {
      code: 'protocol',
      message: `SMB 3 negotiation failed (${status ?? 'unknown'}): the device must speak SMB 3`,
    };
  return undefined;
}

function firstLines(output: string): string {
  return output.split('\n').slice(0, 3).join(' / ').slice(0, 300);
}

/** A name or path quoted for smbclient's command reader; refused when it cannot be quoted. */
export function quoted(value: string): string {
  if (/["\r\n]/.test(value)) throw new Error(`smbclient cannot take ${JSON.stringify(value)}`);
  return `"${value}"`;
}
