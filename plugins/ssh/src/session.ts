import type { ExecOptions, ExecResult, Fail, Session, TransferOptions } from 'rmm/plugin';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import { exitCodeOf, sendSignal } from './channel-signals.js';
import type { Ssh2 } from './load-ssh2.js';
import { pidLine, withoutPidLine, withPidLine } from './pid-line.js';
import { Slots } from './slots.js';

type SshClient = InstanceType<Ssh2['Client']>;

/**
 * OpenSSH allows 10 sessions per connection by default (MaxSessions); SFTP takes one and killing a
 * timed-out command another: execs beyond 8 wait for a free one instead of being refused.
 */
const MAX_CONCURRENT_EXECS = 8;

/** A logged-in connection: commands over exec channels, files over SFTP. */
export class SshSession implements Session {
  readonly #client: SshClient;
  readonly #where: string;
  readonly #fail: Fail;
  /** Whether commands run in a POSIX shell (see PID_LINE in pid-line.ts). */
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
    // See PID_LINE (pid-line.ts): on POSIX targets the shell first reports its pid, so a timeout can
    // kill the command's process group even where sshd refuses the signal request.
    const { sent, nonce } = this.#posix ? withPidLine(command) : { sent: command, nonce: undefined };
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
            exitCode = exitCodeOf(code, signal);
          });
          opened.on('close', () => {
            if (exitCode === undefined) {
              const message = `${where}: the connection closed before the command reported its exit status`;
              return settle(this.#fail('unreachable', message, { commandSent: true }));
            }
            const all = Buffer.concat(stdout);
            const out = nonce === undefined ? all : withoutPidLine(all, nonce);
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
