/**
 * What a command has written and not yet been Received, per stream, plus its exit code once it has
 * ended. Receive long-polls on it. Like Windows, which stops reading a process's pipes when the
 * client does not Receive, it asks its producer to pause above a high-water mark.
 */

export type StreamName = 'stdout' | 'stderr';

export interface OutputChunk {
  stream: StreamName;
  data: Buffer;
}

export interface OutputBatch {
  chunks: OutputChunk[];
  /** Set once every byte has been handed out and the command has ended. */
  exitCode: number | undefined;
}

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

export class CommandOutput {
  private readonly queue: OutputChunk[] = [];
  private buffered = 0;
  private code: number | undefined;
  private readonly waiters = new Set<() => void>();
  private paused = false;

  /** The producer's flow control; set by whoever feeds this output. */
  onPause: () => void = () => {};
  onResume: () => void = () => {};

  write(stream: StreamName, data: Buffer): void {
    if (data.length === 0 || this.code !== undefined) return;
    this.queue.push({ stream, data });
    this.buffered += data.length;
    if (!this.paused && this.buffered > HIGH_WATER) {
      this.paused = true;
      this.onPause();
    }
    this.wake();
  }

  /** The command ended; output written before this stays deliverable. */
  finish(exitCode: number): void {
    if (this.code !== undefined) return;
    this.code = exitCode;
    this.wake();
  }

  get finished(): boolean {
    return this.code !== undefined;
  }

  /** True when a Receive for these streams has something to say: bytes, or the end. */
  hasNews(streams: ReadonlySet<StreamName>): boolean {
    return this.code !== undefined || this.queue.some((chunk) => streams.has(chunk.stream));
  }

  /**
   * Takes, in the order written, what of the wanted streams fits in `budget` bytes of XML: base64
   * text plus `elementOverhead` whenever the stream changes. Chunks are split to fit.
   */
  take(streams: ReadonlySet<StreamName>, budget: number, elementOverhead: number): OutputBatch {
    const chunks: OutputChunk[] = [];
    let room = budget;
    let lastStream: StreamName | undefined;
    for (let i = 0; i < this.queue.length; ) {
      const chunk = this.queue[i];
      if (chunk === undefined || !streams.has(chunk.stream)) {
        i++;
        continue;
      }
      const overhead = chunk.stream === lastStream ? 0 : elementOverhead;
      const fits = Math.floor((room - overhead) / 4) * 3;
      if (fits <= 0) break;
      const data = chunk.data.subarray(0, fits);
      chunks.push({ stream: chunk.stream, data });
      room -= overhead + Math.ceil(data.length / 3) * 4;
      lastStream = chunk.stream;
      this.buffered -= data.length;
      if (data.length === chunk.data.length) this.queue.splice(i, 1);
      else chunk.data = chunk.data.subarray(data.length);
    }
    if (this.paused && this.buffered < LOW_WATER) {
      this.paused = false;
      this.onResume();
    }
    const drained = !this.queue.some((chunk) => streams.has(chunk.stream));
    return { chunks, exitCode: drained ? this.code : undefined };
  }

  /** Resolves on the next write or finish, after timeoutMs, or when aborted, whichever comes first. */
  waitForNews(timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      signal.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }

  /** Wakes every pending Receive, e.g. when the command or its shell goes away. */
  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
