import type { ExecOptions, ExecResult, Fail, Session, TransferOptions } from 'rmm/plugin';
import type { WinrmConnection } from './connection.js';
import { fetchFile, putFile } from './transfer.js';
import {
  commandEnvelope,
  createShellEnvelope,
  deleteShellEnvelope,
  type EnvelopeContext,
  maxSendChunk,
  OPERATION_TIMEOUT_FAULT,
  parseCommandId,
  parseFault,
  parseReceive,
  parseShellId,
  receiveEnvelope,
  sendEnvelope,
  signalEnvelope,
  type WsmanFault,
  WsmanParseError,
} from './wsman.js';

/**
 * A session is one WinRS cmd shell on the device, reached over one connection: every command of
 * the session runs in it (Windows allows 5 shells per user by default, so a device never gets more
 * than one from us). A command's life: Command, Send (its stdin, always ended so a reader sees
 * EOF), Receive until Done, Signal terminate; closing the session deletes the shell.
 */
export interface ShellSettings {
  url: string;
  maxEnvelopeSize: number;
  operationTimeoutSec: number;
  codepage: number;
  connectTimeoutMs: number;
  where: string;
  fail: Fail;
  /** A connection failure as the plugin API's typed error. */
  typed(error: unknown, commandSent: boolean): Error;
}

/** Time the HTTP request gets beyond the operation timeout the server may hold it for. */
const REPLY_MARGIN_MS = 15_000;
/** Cleanup (Signal, Delete) after a timeout or cancel: best effort, bounded. */
const CLEANUP_TIMEOUT_MS = 5_000;

class FaultReply extends Error {
  constructor(readonly fault: WsmanFault) {
    super(fault.message ?? fault.reason);
  }
}

export class WinrmShell implements Session {
  private closed = false;
  /** The largest stdin chunk one Send carries (fixed by the envelope settings). */
  private readonly sendChunkBytes: number;

  private constructor(
    private readonly connection: WinrmConnection,
    private readonly settings: ShellSettings,
    private readonly shellId: string,
  ) {
    this.sendChunkBytes = maxSendChunk(this.context());
  }

  /** Creates the shell: a device that refuses us fails here, at connect, not at the first command. */
  static async open(
    connection: WinrmConnection,
    settings: ShellSettings,
    signal?: AbortSignal,
  ): Promise<WinrmShell> {
    const probe = new WinrmShell(connection, settings, '');
    try {
      const xml = await probe.call(
        createShellEnvelope(probe.context(), { codepage: settings.codepage, noProfile: true }),
        settings.connectTimeoutMs,
        false,
        signal,
      );
      return new WinrmShell(
        connection,
        settings,
        probe.parse(() => parseShellId(xml), false),
      );
    } catch (error) {
      throw probe.typedFault(error, false);
    }
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (this.closed) throw new Error(`${this.settings.where}: the session is closed`);
    const { signal } = options;
    const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    const requestMs = this.settings.connectTimeoutMs + REPLY_MARGIN_MS;
    let commandId: string;
    try {
      const xml = await this.call(
        commandEnvelope(this.context(), this.shellId, command, []),
        requestMs,
        true,
        signal,
      );
      commandId = this.parse(() => parseCommandId(xml), true);
    } catch (error) {
      throw this.typedFault(error, true);
    }
    try {
      await this.sendStdin(commandId, options.stdin, requestMs, signal);
      const result = await this.receiveAll(commandId, deadline, signal);
      await this.terminate(commandId);
      return result;
    } catch (error) {
      // Timed out, cancelled or failed midway: the process must not outlive us.
      await this.terminate(commandId);
      throw this.typedFault(error, true);
    }
  }

  putFile(localPath: string, remotePath: string, options: TransferOptions = {}): Promise<void> {
    return putFile(this, localPath, remotePath, options, this.settings);
  }

  fetchFile(remotePath: string, localPath: string, options: TransferOptions = {}): Promise<void> {
    return fetchFile(this, remotePath, localPath, options, this.settings);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.call(deleteShellEnvelope(this.context(), this.shellId), CLEANUP_TIMEOUT_MS, false).catch(
      () => {},
    );
    this.connection.close();
  }

  private async sendStdin(
    commandId: string,
    stdin: string | Buffer | undefined,
    requestMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const data =
      stdin === undefined ? Buffer.alloc(0) : Buffer.isBuffer(stdin) ? stdin : Buffer.from(stdin, 'utf8');
    const chunk = this.sendChunkBytes;
    let offset = 0;
    do {
      const piece = data.subarray(offset, offset + chunk);
      offset += piece.length;
      const last = offset >= data.length;
      try {
        await this.call(
          sendEnvelope(this.context(), this.shellId, commandId, piece, last),
          requestMs,
          true,
          signal,
        );
      } catch (error) {
        // A command that exited without reading its input refuses more of it: its exit code counts.
        if (error instanceof FaultReply) return;
        throw error;
      }
    } while (offset < data.length);
  }

  private async receiveAll(
    commandId: string,
    deadline: number | undefined,
    signal?: AbortSignal,
  ): Promise<ExecResult> {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    // Bounded by the deadline, or by the server ending the command; each turn waits at most the
    // operation timeout on the server side.
    for (;;) {
      const left = deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
      if (left <= 0)
        throw this.settings.fail(
          'timed-out',
          `${this.settings.where}: the command ran past its timeout and was stopped`,
          {
            commandSent: true,
          },
        );
      const holdSec = Math.max(1, Math.min(this.settings.operationTimeoutSec, Math.ceil(left / 1000)));
      let xml: string;
      try {
        xml = await this.call(
          receiveEnvelope(this.context(holdSec), this.shellId, commandId),
          holdSec * 1000 + REPLY_MARGIN_MS,
          true,
          signal,
        );
      } catch (error) {
        // Nothing new within the operation timeout: Windows says so with a fault; ask again.
        if (error instanceof FaultReply && error.fault.code === OPERATION_TIMEOUT_FAULT) continue;
        throw error;
      }
      const received = this.parse(() => parseReceive(xml), true);
      stdout.push(...received.stdout);
      stderr.push(...received.stderr);
      if (received.done) {
        return {
          exitCode: received.exitCode ?? 0,
          stdout: Buffer.concat(stdout),
          stderr: Buffer.concat(stderr),
        };
      }
    }
  }

  /** Ends the command's process (and releases it on the server). Never throws. */
  private async terminate(commandId: string): Promise<void> {
    await this.call(
      signalEnvelope(this.context(), this.shellId, commandId, 'terminate'),
      CLEANUP_TIMEOUT_MS,
      true,
    ).catch(() => {});
  }

  /** One request; a WS-Man fault comes back as FaultReply for the caller to judge. */
  private async call(
    xml: string,
    timeoutMs: number,
    commandSent: boolean,
    signal?: AbortSignal,
  ): Promise<string> {
    let reply: Awaited<ReturnType<WinrmConnection['send']>>;
    try {
      reply = await this.connection.send(xml, timeoutMs, signal);
    } catch (error) {
      throw this.settings.typed(error, commandSent);
    }
    if (reply.status === 500) {
      const fault = this.parse(() => parseFault(reply.body), commandSent);
      if (fault) throw new FaultReply(fault);
      throw this.settings.fail('protocol', `${this.settings.where}: HTTP 500 without a WS-Management fault`, {
        commandSent,
      });
    }
    return reply.body;
  }

  private parse<T>(read: () => T, commandSent: boolean): T {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof WsmanParseError)) throw error;
      throw this.settings.fail('protocol', `${this.settings.where}: ${error.message}`, {
        cause: error,
        commandSent,
      });
    }
  }

  /** A fault the caller did not handle, as a typed error; other errors pass through. */
  private typedFault(error: unknown, commandSent: boolean): Error {
    if (!(error instanceof FaultReply)) return error as Error;
    const fault = error.fault;
    const text = `${this.settings.where}: ${fault.message ?? fault.reason}${fault.code ? ` (WSManFault ${fault.code})` : ''}`;
    // Access denied: the account may log on but not use WinRM (not in Remote Management Users).
    const code = fault.code === '5' ? 'auth-failed' : 'protocol';
    return this.settings.fail(code, text, { commandSent });
  }

  private context(operationTimeoutSec = this.settings.operationTimeoutSec): EnvelopeContext {
    return { url: this.settings.url, maxEnvelopeSize: this.settings.maxEnvelopeSize, operationTimeoutSec };
  }
}
