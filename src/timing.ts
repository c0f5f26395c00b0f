/**
 * RMM_TIMING=1 prints how long each phase of a command took, to stderr: the figures behind the
 * benchmarks, to be read on a user's machine without a profiler.
 */
const enabled = process.env.RMM_TIMING === '1';
let last = performance.now();
let lastCpu = process.cpuUsage();

/** A phase's wall time and the CPU time of the whole process (worker threads included) in it. */
export function phase(name: string): void {
  if (!enabled) return;
  const now = performance.now();
  const cpu = process.cpuUsage(lastCpu);
  const rss = Math.round(process.memoryUsage.rss() / 2 ** 20);
  process.stderr.write(
    `[timing] ${name}: ${Math.round(now - last)} ms, cpu ${Math.round((cpu.user + cpu.system) / 1000)} ms (at ${Math.round(now)} ms, rss ${rss} MB)\n`,
  );
  last = now;
  lastCpu = process.cpuUsage();
}

/** Figures a phase counted (RMM_TIMING=1): `[timing] check cache: hits 990, misses 10`. */
export function figures(name: string, counted: Record<string, number | string>): void {
  if (!enabled) return;
  const text = Object.entries(counted)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');
  process.stderr.write(`[timing] ${name}: ${text}\n`);
}
