// Loaded with `node --import` into every measured process: on exit it writes the process's own
// wall time, CPU time and peak RSS to the file named by RMM_BENCH_REPORT.
import { writeFileSync } from 'node:fs';

const started = performance.now();
process.on('exit', () => {
  const file = process.env.RMM_BENCH_REPORT;
  if (!file) return;
  const usage = process.resourceUsage();
  writeFileSync(
    file,
    JSON.stringify({
      wallMs: performance.now() - started,
      cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
      maxRssMb: usage.maxRSS / 1024,
    }),
  );
});
