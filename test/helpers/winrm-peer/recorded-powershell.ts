import type { Transcode } from './codepage.js';
import { CommandOutput } from './command-output.js';
import type { ShellCommand } from './shell-command.js';
import type { PowershellAnswer, PowershellHandler, PowershellRecord } from './types.js';

/** powershell.exe's exit code after Ctrl+C: STATUS_CONTROL_C_EXIT (0xC000013A) as a signed 32-bit int. */
const CONTROL_C_EXIT = -1073741510;

/**
 * `powershell -EncodedCommand` is not run (there is no PowerShell here): the script and its stdin
 * are recorded and the test's handler answers. The call happens once stdin is complete: at a Send
 * with End="true", or at the first Receive when nothing was sent before it (pywinrm's run_ps never
 * sends stdin).
 */
export class RecordedPowershell implements ShellCommand {
  readonly output = new CommandOutput();
  private readonly stdin: Buffer[] = [];
  private sentAnything = false;
  private called = false;

  constructor(
    readonly id: string,
    private readonly script: string,
    private readonly handler: PowershellHandler | undefined,
    private readonly record: (entry: PowershellRecord) => void,
    private readonly encodeText: () => Transcode | undefined,
  ) {}

  sendInput(data: Buffer, end: boolean): void {
    if (this.called) return;
    this.sentAnything = true;
    this.stdin.push(data);
    if (end) this.call();
  }

  receiving(): void {
    if (!this.sentAnything) this.call();
  }

  interrupt(): void {
    this.output.finish(CONTROL_C_EXIT);
  }

  kill(): void {
    this.output.finish(CONTROL_C_EXIT);
  }

  private call(): void {
    if (this.called) return;
    this.called = true;
    const entry = { script: this.script, stdin: Buffer.concat(this.stdin) };
    this.record(entry);
    const answer: Promise<PowershellAnswer> =
      this.handler === undefined
        ? Promise.resolve({ stdout: '', exitCode: 0 })
        : Promise.resolve().then(() => (this.handler as PowershellHandler)(entry.script, entry.stdin));
    answer.then(
      (result) => {
        this.output.write('stdout', this.bytes(result.stdout));
        this.output.write('stderr', this.bytes(result.stderr ?? ''));
        this.output.finish(result.exitCode);
      },
      (error: unknown) => {
        this.output.write(
          'stderr',
          this.bytes(`${error instanceof Error ? error.message : String(error)}\r\n`),
        );
        this.output.finish(1);
      },
    );
  }

  /** Text is what PowerShell printed, so it reaches the client in the shell's code page; bytes go as they are. */
  private bytes(value: Buffer | string): Buffer {
    if (Buffer.isBuffer(value)) return value;
    const utf8 = Buffer.from(value, 'utf8');
    const encode = this.encodeText();
    return encode === undefined ? utf8 : Buffer.concat([encode(utf8), encode(Buffer.alloc(0))]);
  }
}
