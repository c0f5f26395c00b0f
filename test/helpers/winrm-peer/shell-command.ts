import type { CommandOutput } from './command-output.js';

/** One command in a shell, whatever runs it: a local process or the recorded PowerShell stand-in. */
export interface ShellCommand {
  readonly id: string;
  readonly output: CommandOutput;
  /** Stdin from a Send; `end` (End="true") closes it. */
  sendInput(data: Buffer, end: boolean): void;
  /** A Receive arrived for this command (before it waits for output). */
  receiving(): void;
  /** Signal ctrl_c / ctrl_break. */
  interrupt(): void;
  /** Signal terminate, Delete of the shell, or the peer stopping: nothing of it may survive. */
  kill(): void;
}
