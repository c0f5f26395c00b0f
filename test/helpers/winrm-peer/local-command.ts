import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Transcode } from './codepage.js';
import { splitCommandLine } from './command-line.js';
import { CommandOutput, type StreamName } from './command-output.js';
import type { ShellCommand } from './shell-command.js';
import { WsmanFault } from './wsman-faults.js';

export interface LocalCommandSpec {
  id: string;
  commandLine: string;
  /** WINRS_SKIP_CMD_SHELL: run the program directly instead of through the shell. */
  skipCmdShell: boolean;
  cwd: string | undefined;
  env: NodeJS.ProcessEnv;
  encodeOutput: () => Transcode | undefined;
  decodeInput: Transcode | undefined;
}

/** After ctrl_c, how long a process may take to exit before its group is killed. */
const INTERRUPT_GRACE_MS = 1000;

/**
 * A command run by the local shell, `sh -c '<command line>'`, standing in for cmd.exe /c. It gets
 * its own process group so that terminate, Delete and stop() can kill it and everything it started,
 * as Windows does with the job object of a shell.
 */
export class LocalCommand implements ShellCommand {
  readonly output = new CommandOutput();
  private groupGone = false;
  private interruptTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly id: string,
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly decodeInput: Transcode | undefined,
  ) {}

  /** Resolves once the process runs; a program that cannot start is a fault, as in Windows. */
  static async start(spec: LocalCommandSpec): Promise<LocalCommand> {
    const [program, ...args] = spec.skipCmdShell
      ? splitCommandLine(spec.commandLine)
      : ['/bin/sh', '-c', spec.commandLine];
    if (program === undefined)
      throw new WsmanFault('s:Receiver', 'w:InternalError', 'empty command', 2, 'empty');
    const child = spawn(program, args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error: NodeJS.ErrnoException) => reject(spawnFault(error)));
    });
    const command = new LocalCommand(spec.id, child, spec.decodeInput);
    command.pipe('stdout', spec.encodeOutput());
    command.pipe('stderr', spec.encodeOutput());
    command.output.onPause = () => {
      child.stdout.pause();
      child.stderr.pause();
    };
    command.output.onResume = () => {
      child.stdout.resume();
      child.stderr.resume();
    };
    child.stdin.on('error', () => {}); // EPIPE when the process has gone; Windows drops such input too.
    child.on('exit', () => command.noteLeaderExit());
    child.on('close', (code, signal) => {
      clearTimeout(command.interruptTimer);
      command.output.finish(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)));
    });
    return command;
  }

  sendInput(data: Buffer, end: boolean): void {
    if (this.child.stdin.destroyed || this.child.stdin.writableEnded) return;
    if (data.length > 0)
      this.child.stdin.write(this.decodeInput === undefined ? data : this.decodeInput(data));
    if (end) this.child.stdin.end();
  }

  receiving(): void {}

  interrupt(): void {
    this.signalGroup('SIGINT');
    clearTimeout(this.interruptTimer);
    this.interruptTimer = setTimeout(() => this.signalGroup('SIGKILL'), INTERRUPT_GRACE_MS);
    this.interruptTimer.unref();
  }

  kill(): void {
    clearTimeout(this.interruptTimer);
    this.signalGroup('SIGKILL');
    this.child.stdin.destroy();
    this.output.wake();
  }

  private pipe(stream: StreamName, encode: Transcode | undefined): void {
    const source = this.child[stream];
    source.on('data', (chunk: Buffer) =>
      this.output.write(stream, encode === undefined ? chunk : encode(chunk)),
    );
    if (encode !== undefined) source.on('end', () => this.output.write(stream, encode(Buffer.alloc(0))));
  }

  /**
   * A process group's id is its leader's pid, which the OS may hand out again once the group is
   * empty. So when the leader exits with nobody left in its group, the group is marked gone and
   * never signalled again.
   */
  private noteLeaderExit(): void {
    if (!this.groupAlive()) this.groupGone = true;
  }

  private groupAlive(): boolean {
    if (this.groupGone || this.child.pid === undefined) return false;
    try {
      process.kill(-this.child.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.groupGone || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      this.groupGone = true; // ESRCH: nothing left in the group.
    }
  }
}

function spawnFault(error: NodeJS.ErrnoException): WsmanFault {
  // The Win32 errors CreateProcess would have reported.
  const [code, sentence] =
    error.code === 'ENOENT'
      ? [2, 'The system cannot find the file specified. ']
      : error.code === 'EACCES'
        ? [5, 'Access is denied. ']
        : [1, `${error.message} `];
  return new WsmanFault('s:Receiver', 'w:InternalError', sentence, code, sentence);
}
