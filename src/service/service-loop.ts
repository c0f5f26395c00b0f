/**
 * The service's loop, and nothing else: tick, wait, again, until the signal. What a tick does is the
 * service's (service.ts); the wait is an input, so tests drive the loop on an injected timeline and
 * never sleep. `rmm serve --once` is one tick of the same code.
 */
export interface LoopOptions {
  tick: () => Promise<void>;
  /** Waits ms or until the signal aborts, whichever is first; never rejects. */
  wait: (ms: number, signal: AbortSignal) => Promise<void>;
  tickMs: number;
  signal: AbortSignal;
  once?: boolean;
  /** Bounds the loop for tests; unbounded (until the signal) otherwise. */
  maxTicks?: number;
}

export async function runLoop(options: LoopOptions): Promise<number> {
  let ticks = 0;
  const limit = options.maxTicks ?? Number.POSITIVE_INFINITY;
  while (!options.signal.aborted && ticks < limit) {
    await options.tick();
    ticks++;
    if (options.once) break;
    await options.wait(options.tickMs, options.signal);
  }
  return ticks;
}

/** The real wait: a timer that the signal cuts short. */
export function timerWait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
