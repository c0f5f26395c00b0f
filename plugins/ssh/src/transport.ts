import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type {
  ConnectOptions,
  DeviceTarget,
  ExecOptions,
  ExecResult,
  Fail,
  PluginRuntime,
  Secret,
  Session,
  TransferOptions,
  Transport,
} from 'rmm/plugin';
import type { ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import { hostKeyCheck } from './host-keys.js';
import { knownHostsName } from './known-hosts.js';
import { knownHostsFailure } from './known-hosts-dirs.js';
import { checkSshOptions } from './option-checks.js';
import { sshHostKeys } from './scan.js';

export type Ssh2 = typeof import('ssh2');
type SshClient = InstanceType<Ssh2['Client']>;

/**
 * ssh2 is loaded on the first connection, not with the plugin: every rmm command runs the plugins'
 * hooks (to know their transports and option schemas), and importing ssh2 costs about 0.15 s.
 * It is CommonJS: its named exports are only reliable through the default import.
 */
let ssh2: Promise<Ssh2> | undefined;
function loadSsh2(): Promise<Ssh2> {
  ssh2 ??= import('ssh2').then((m) => ((m as { default?: Ssh2 }).default ?? m) as Ssh2);
  return ssh2;
}

/** A device's spec.transport for `type: ssh`, after validation against optionsSchema. */
export interface SshOptions {
  port?: number;
  user?: string;
  auth?: 'key' | 'password' | 'agent';
  knownHosts?: string;
  hostKeyFingerprint?: string;
  hostKeyPolicy?: 'strict' | 'accept-new';
  keepaliveIntervalMs?: number;
  readyTimeoutMs?: number;
}

export const optionsSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    user: { type: 'string', minLength: 1 },
    auth: {
      enum: ['key', 'password', 'agent'],
      default: 'key',
      description:
        'key: the credential is a private key; password: it is the password; agent: SSH_AUTH_SOCK.',
    },
    knownHosts: {
      type: 'string',
      minLength: 1,
      description: 'known_hosts file (default ~/.ssh/known_hosts).',
    },
    hostKeyFingerprint: {
      type: 'string',
      pattern: '^SHA256:[A-Za-z0-9+/]{43}=?$',
      description: 'Pins the host key (as `ssh-keygen -l` prints it); replaces the known_hosts check.',
    },
    hostKeyPolicy: {
      enum: ['strict', 'accept-new'],
      default: 'strict',
      description:
        'accept-new records the key of a host known_hosts does not list yet; a changed key is refused.',
    },
    keepaliveIntervalMs: {
      type: 'integer',
      minimum: 0,
      description: '0 disables keepalives (default 15000).',
    },
    readyTimeoutMs: {
      type: 'integer',
      minimum: 1,
      description: "Shortens the core's connect timeout for this device; it cannot lengthen it.",
    },
  },
} as const;

/**
 * OpenSSH allows 10 sessions per connection by default (MaxSessions); SFTP takes one and killing a
 * timed-out command another: execs beyond 8 wait for a free one instead of being refused.
 */
const MAX_CONCURRENT_EXECS = 8;
const DEFAULT_KEEPALIVE_MS = 15_000;

/** Signal numbers that are the same on Linux, the BSDs and macOS; others report 255. */
const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

export function createSshTransport(runtime: PluginRuntime): Transport {
  const fail: Fail = (code, message, options) => new runtime.TransportError(code, message, options);
  return {
    apiVersion: 1,
    name: 'ssh',
    description: 'OpenSSH-compatible servers: commands over exec channels, files over SFTP.',
    optionsSchema,
    defaultPort: 22,
    batchSize: 200,
    // PowerShell would be true for Windows OpenSSH targets only, which is per device: not claimed.
    capabilities: { powershell: false, fileTransfer: true, queued: false },
    connect: (target, options) => connect(target, options, fail),
    hostKeys: sshHostKeys(loadSsh2, fail),
    checkOptions: checkSshOptions,
  };
}

async function connect(target: DeviceTarget, options: ConnectOptions, fail: Fail): Promise<Session> {
  const opts = target.options as SshOptions;
  const port = opts.port ?? 22;
  const user = options.user ?? opts.user ?? os.userInfo().username;
  const where = `${target.name} (${user}@${knownHostsName(target.host, port)})`;
  options.signal?.throwIfAborted();
  const { Client, utils } = await loadSsh2();
  const auth = authConfig(opts.auth ?? 'key', options.secret, where, fail, utils);
  const hostKeys = await hostKeyCheck(target.host, port, opts).catch((error: unknown) => {
    throw knownHostsFailure(fail, where, error);
  });
  options.signal?.throwIfAborted();
  const readyTimeout = Math.min(options.connectTimeoutMs, opts.readyTimeoutMs ?? Number.POSITIVE_INFINITY);

  const client = new Client();
  return new Promise<Session>((resolve, reject) => {
    let settled = false;
    let hostKeyRefusal: string | undefined;
    const settle = (error: unknown, session?: Session) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (session) return resolve(session);
      client.destroy();
      reject(error);
    };
    const onAbort = () => settle(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });

    client.on('error', (error: Error & { level?: string; code?: string }) => {
      if (settled) return; // After ready, a broken connection shows as channels closing.
      if (hostKeyRefusal !== undefined) {
        return settle(fail('host-key-mismatch', `${where}: host key not trusted: ${hostKeyRefusal}`));
      }
      if (error.level === 'client-authentication') {
        const credential = options.secret ? ` with ${options.secret.ref}` : '';
        return settle(
          fail('auth-failed', `${where}: ${opts.auth ?? 'key'} authentication${credential} failed`),
        );
      }
      if (error.level === 'client-timeout') {
        return settle(
          fail('unreachable', `${where}: not logged in within ${readyTimeout} ms`, { cause: error }),
        );
      }
      if (error.level === 'client-socket') {
        return settle(fail('unreachable', `${where}: ${error.code ?? error.message}`, { cause: error }));
      }
      settle(fail('protocol', `${where}: SSH handshake failed: ${error.message}`, { cause: error }));
    });
    client.once('close', () => settle(fail('unreachable', `${where}: connection closed before login`)));
    client.once('ready', () =>
      settle(undefined, new SshSession(client, where, fail, target.os === 'linux' || target.os === 'macos')),
    );

    try {
      client.connect({
        host: target.host,
        port,
        username: user,
        readyTimeout,
        keepaliveInterval: opts.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_MS,
        keepaliveCountMax: 3,
        ...(hostKeys.algorithms ? { algorithms: { serverHostKey: hostKeys.algorithms } } : {}),
        ...auth,
        // Must not return a value: ssh2 treats any returned value as the synchronous verdict.
        hostVerifier: (blob: Buffer, verify: (valid: boolean) => void) => {
          hostKeys.check(blob).then(
            (refusal) => {
              hostKeyRefusal = refusal;
              verify(refusal === undefined);
            },
            (error: unknown) => {
              hostKeyRefusal = `cannot record it: ${(error as Error).message}`;
              verify(false);
            },
          );
        },
      } as ConnectConfig);
      // Each exec is a few small request/reply packets: Nagle's algorithm would hold them back.
      client.setNoDelay(true);
    } catch (error) {
      settle(fail('protocol', `${where}: ${(error as Error).message}`, { cause: error }));
    }
  });
}

/** ssh2 settings for one auth method; only that method is tried. Messages never quote the secret. */
function authConfig(
  method: string,
  secret: Secret | undefined,
  where: string,
  fail: Fail,
  utils: Ssh2['utils'],
): Partial<ConnectConfig> {
  if (method === 'agent') {
    const agent = process.env.SSH_AUTH_SOCK;
    if (!agent) throw fail('auth-failed', `${where}: auth 'agent' needs SSH_AUTH_SOCK, which is not set`);
    return { agent, authHandler: ['agent'] };
  }
  if (secret === undefined) throw fail('auth-failed', `${where}: auth '${method}' needs a credentialRef`);
  if (method === 'password') {
    return { password: secret.revealText(), authHandler: ['password'] };
  }
  const privateKey = secret.reveal();
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) {
    const why = /encrypted/i.test(parsed.message)
      ? 'is encrypted (passphrase-protected keys are not supported)'
      : 'is not a private key in OpenSSH or PEM format';
    throw fail('auth-failed', `${where}: the key in ${secret.ref} ${why}`);
  }
  return { privateKey, authHandler: ['publickey'] };
}

class SshSession implements Session {
  readonly #client: SshClient;
  readonly #where: string;
  readonly #fail: Fail;
  /** Whether commands run in a POSIX shell (see PID_LINE). */
  readonly #posix: boolean;
  readonly #closed: Promise<void>;
  #isClosed = false;
  #sftp: Promise<SFTPWrapper> | undefined;
  readonly #slots = new Slots(MAX_CONCURRENT_EXECS);

  constructor(client: SshClient, where: string, fail: Fail, posix: boolean) {
    this.#client = client;
    this.#where = where;
    this.#fail = fail;
    this.#posix = posix;
    this.#closed = new Promise((resolve) =>
      client.once('close', () => {
        this.#isClosed = true;
        resolve();
      }),
    );
  }

  get connectionClosed(): Promise<void> {
    return this.#closed;
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    options.signal?.throwIfAborted();
    const release = await this.#slots.acquire();
    try {
      options.signal?.throwIfAborted();
      return await this.#exec(command, options);
    } finally {
      release();
    }
  }

  #exec(command: string, options: ExecOptions): Promise<ExecResult> {
    const where = this.#where;
    // See PID_LINE: on POSIX targets the shell first reports its pid, so a timeout can kill the
    // command's process group even where sshd refuses the signal request.
    const nonce = this.#posix ? randomBytes(6).toString('hex') : undefined;
    const sent = nonce === undefined ? command : `printf 'rmm-pid-${nonce} %s\\n' "$$"; ${command}`;
    return new Promise((resolve, reject) => {
      let channel: ClientChannel | undefined;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let exitCode: number | undefined;

      const settle = (error: unknown, result?: ExecResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (result) resolve(result);
        else reject(error);
      };
      // Rejects only once the command is stopped (as far as the server lets us): a caller that
      // sees the error can rely on the command no longer running.
      const stop = (error: unknown) => {
        if (settled) return;
        const pid = nonce === undefined ? undefined : pidLine(Buffer.concat(stdout), nonce)?.pid;
        kill();
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        void (pid === undefined ? Promise.resolve() : this.#killGroup(pid)).then(() => reject(error));
      };
      // OpenSSH (7.9+) delivers the signal to the command's process group, except for root logins
      // (it refuses session signals without privilege separation); #killGroup covers those.
      const kill = () => {
        try {
          if (channel) sendSignal(channel, 'KILL');
        } catch {}
        try {
          channel?.close();
        } catch {}
      };
      const onAbort = () => stop(options.signal?.reason);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        const message = `${where}: the command ran past ${options.timeoutMs} ms and was killed`;
        timer = setTimeout(
          () => stop(this.#fail('timed-out', message, { commandSent: true })),
          options.timeoutMs,
        );
      }

      try {
        this.#client.exec(sent, (error, opened) => {
          if (error) {
            const code = this.#isClosed ? 'unreachable' : 'protocol';
            return settle(
              this.#fail(code, `${where}: could not start the command: ${error.message}`, { cause: error }),
            );
          }
          channel = opened;
          if (settled) return kill(); // Timed out or aborted while the channel was opening.
          opened.on('data', (chunk: Buffer) => stdout.push(chunk));
          opened.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
          // Writing stdin to a command that already exited can fail; its exit status still counts.
          opened.on('error', () => {});
          opened.on('exit', (code: number | null, signal?: string) => {
            const number = SIGNAL_NUMBERS[signal ?? ''];
            if (code !== null) exitCode = code <= 255 ? code : 255;
            else exitCode = number === undefined ? 255 : 128 + number;
          });
          opened.on('close', () => {
            if (exitCode === undefined) {
              const message = `${where}: the connection closed before the command reported its exit status`;
              return settle(this.#fail('unreachable', message, { commandSent: true }));
            }
            let out = Buffer.concat(stdout);
            const line = nonce === undefined ? undefined : pidLine(out, nonce);
            if (line) out = Buffer.concat([out.subarray(0, line.start), out.subarray(line.end)]);
            settle(undefined, { exitCode, stdout: out, stderr: Buffer.concat(stderr) });
          });
          // End stdin even without input, so a command that reads it sees EOF instead of waiting.
          if (options.stdin === undefined) opened.end();
          else opened.end(options.stdin);
        });
      } catch (error) {
        // ssh2 throws 'Not connected' synchronously: nothing was sent.
        settle(this.#fail('unreachable', `${where}: ${(error as Error).message}`, { cause: error }));
      }
    });
  }

  /**
   * Kills a process group through a second exec: sshd made the login shell a session leader
   * (setsid), so its pid is the group of everything the command started that did not detach.
   * Bounded (5 s) and silent: the timeout is reported either way.
   */
  #killGroup(pid: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      try {
        this.#client.exec(`kill -KILL -${pid} 2>/dev/null; true`, (error, channel) => {
          if (error) return done();
          channel
            .on('error', () => {})
            .on('close', done)
            .resume();
          channel.stderr.resume();
          channel.end();
        });
      } catch {
        done();
      }
    });
  }

  async putFile(localPath: string, remotePath: string, options: TransferOptions = {}): Promise<void> {
    const mode = options.mode ?? 0o644;
    await this.#transfer(`put ${localPath} to ${remotePath}`, options.signal, (sftp, done) =>
      sftp.fastPut(localPath, remotePath, { mode }, (error) => {
        // The mode given at open only applies to a new file, and through the server's umask.
        if (error) done(error);
        else sftp.chmod(remotePath, mode, done);
      }),
    );
  }

  async fetchFile(remotePath: string, localPath: string, options: TransferOptions = {}): Promise<void> {
    await this.#transfer(`fetch ${remotePath} to ${localPath}`, options.signal, (sftp, done) =>
      sftp.fastGet(remotePath, localPath, done),
    );
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#client.end();
    // A server that never answers the disconnect must not hold close() forever.
    const timer = setTimeout(() => this.#client.destroy(), 2000);
    await this.#closed;
    clearTimeout(timer);
  }

  async #transfer(
    what: string,
    signal: AbortSignal | undefined,
    run: (sftp: SFTPWrapper, done: (error?: Error | null) => void) => void,
  ): Promise<void> {
    signal?.throwIfAborted();
    const sftp = await this.#openSftp();
    await new Promise<void>((resolve, reject) => {
      // SFTP transfers cannot be cancelled one by one: abort ends the SFTP channel.
      const onAbort = () => {
        this.#sftp = undefined;
        sftp.end();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      run(sftp, (error) => {
        signal?.removeEventListener('abort', onAbort);
        if (!error) return resolve();
        const code = this.#isClosed ? 'unreachable' : 'protocol';
        reject(
          this.#fail(code, `${this.#where}: ${what} failed: ${error.message}`, {
            cause: error,
            commandSent: true,
          }),
        );
      });
    });
  }

  #openSftp(): Promise<SFTPWrapper> {
    this.#sftp ??= new Promise<SFTPWrapper>((resolve, reject) => {
      try {
        this.#client.sftp((error, sftp) => {
          if (error) return reject(error);
          sftp.once('close', () => {
            this.#sftp = undefined;
          });
          resolve(sftp);
        });
      } catch (error) {
        reject(error);
      }
    }).catch((error: Error) => {
      this.#sftp = undefined;
      throw this.#fail(
        this.#isClosed ? 'unreachable' : 'protocol',
        `${this.#where}: SFTP: ${error.message}`,
        {
          cause: error,
        },
      );
    });
    return this.#sftp;
  }
}

/**
 * ssh2's channel.signal() does nothing once stdin is ended (it requires the stream to be writable),
 * though SSH allows a signal request after EOF, and every exec ends stdin at once. So the request
 * goes through the protocol object ssh2 1.17 keeps on the channel; the public method is the fallback
 * should those internals move.
 */
function sendSignal(channel: ClientChannel, name: string): void {
  const internal = channel as unknown as {
    outgoing?: { id?: number; state?: string };
    _client?: { _protocol?: { signal?: (id: number, name: string) => void } };
  };
  const { outgoing } = internal;
  const protocol = internal._client?._protocol;
  if (outgoing?.id === undefined || typeof protocol?.signal !== 'function') {
    channel.signal(name);
    return;
  }
  if (outgoing.state === 'open' || outgoing.state === 'eof') protocol.signal(outgoing.id, name);
}

/**
 * PID_LINE. Where sshd refuses to signal a session (root logins: OpenSSH only signals from its
 * privilege-separated child, which root sessions do not have), nothing else names the remote
 * process. So commands for Linux and macOS targets are sent as `printf 'rmm-pid-NONCE %s\n' "$$";
 * COMMAND`: the line is taken out of stdout (matched by its random nonce, within the first 64 KiB
 * in case a start-up file printed first) and its pid used only to kill a command that ran too long.
 * Windows targets (cmd.exe, PowerShell) and targets of unknown OS get the command unchanged.
 */
function pidLine(stdout: Buffer, nonce: string): { start: number; end: number; pid: number } | undefined {
  // latin1 maps bytes one to one, so string offsets are buffer offsets.
  const head = stdout.subarray(0, 65_536).toString('latin1');
  const match = new RegExp(`rmm-pid-${nonce} (\\d+)\n`).exec(head);
  if (!match) return undefined;
  return { start: match.index, end: match.index + match[0].length, pid: Number(match[1]) };
}

/** A counting semaphore: at most `size` holders; the rest wait in order. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }
}
