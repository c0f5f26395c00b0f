/**
 * RMM_TIMING=1 prints how long each phase of a command took, to stderr: the figures behind the
 * benchmarks, to be read on a user's machine without a profiler.
 */
const enabled = process.env.RMM_TIMING === '1';
let last = performance.now();

export function phase(name: string): void {
  if (!enabled) return;
  const now = performance.now();
  const rss = Math.round(process.memoryUsage.rss() / 2 ** 20);
  process.stderr.write(
    `[timing] ${name}: ${Math.round(now - last)} ms (at ${Math.round(now)} ms, rss ${rss} MB)\n`,
  );
  last = now;
}
