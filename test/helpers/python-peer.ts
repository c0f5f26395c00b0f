import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Debian's python3, where python3-winrm (pywinrm, ntlm-auth) is installed. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/**
 * A long-lived python3 process answering one JSON line per JSON line, each call bounded. A process
 * that has ended (a module missing, a crash) fails every call at once with its stderr: waiting for
 * an `exit` event that already fired cost each call its whole timeout.
 */
export class PythonPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly replies: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private stderr = '';
  /** Set once the process has ended, or could not start: why every call fails from then on. */
  private ended: string | undefined;
  private onEnd: (() => void) | undefined;

  constructor(script: string, env: NodeJS.ProcessEnv, python = SYSTEM_PYTHON) {
    this.child = spawn(python, ['-I', '-c', script], { env });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    // Writing to a process that has ended: the end is reported, not a stray EPIPE.
    this.child.stdin.on('error', () => {});
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      if (this.waiting) this.waiting(line);
      else this.replies.push(line);
    });
    const end = (why: string): void => {
      this.ended ??= why;
      this.onEnd?.();
    };
    this.child.once('error', (error) => end(`python could not start: ${error.message}`));
    // 'close' comes after stderr is read to its end, so the reason is whole.
    this.child.once('close', (code, signal) => end(`python exited (${signal ?? code})`));
  }

  async call(request: Record<string, unknown>, timeoutMs = 15_000): Promise<Record<string, string>> {
    const line = await new Promise<string>((resolve, reject) => {
      const queued = this.replies.shift();
      if (queued !== undefined) return resolve(queued);
      const settle = (error?: Error, reply?: string): void => {
        clearTimeout(timer);
        this.onEnd = undefined;
        this.waiting = undefined;
        if (error) reject(error);
        else resolve(reply ?? '');
      };
      const timer = setTimeout(
        () =>
          settle(new Error(`python did not answer ${request.op} in ${timeoutMs} ms; stderr: ${this.stderr}`)),
        timeoutMs,
      );
      this.onEnd = () => settle(new Error(`${this.ended} during ${request.op}; stderr: ${this.stderr}`));
      this.waiting = (reply) => settle(undefined, reply);
      if (this.ended !== undefined) return this.onEnd();
      this.child.stdin.write(`${JSON.stringify(request)}\n`);
    });
    const reply = JSON.parse(line) as { ok: boolean; error?: string } & Record<string, string>;
    if (!reply.ok) throw new Error(`python ${request.op} failed: ${reply.error}`);
    return reply;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
