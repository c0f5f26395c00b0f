// The evaluation benchmark (issue 12), run by bench/run.js in a fresh process with --expose-gc:
// 100,000 devices x 5 monitors over 500,000 series holding 5 minutes of samples (one a minute) in
// the hot tier. Times one evaluation cycle over the whole window, then one steady cycle (a new sample
// per series added, old ones evicted, evaluated), and, in the same process, the floor: a bare loop
// comparing the same 2,500,000 values with their thresholds in one Float64Array. Prints one JSON line.
import { Evaluator } from '../dist/monitoring/evaluator.js';
import { HotTier } from '../dist/monitoring/hot-tier.js';

const DEVICES = 100_000;
const SAMPLES = 5;
const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 1);
const SERIES = [
  { metric: 'cpu.percent', labels: {}, op: '>', threshold: 90, forMs: 3 * MIN, scale: 90 / 0.99 },
  { metric: 'memory.used_percent', labels: {}, op: '>', threshold: 95, forMs: 5 * MIN, scale: 95 / 0.99 },
  { metric: 'disk.used_percent', labels: { mount: '/' }, op: '>', threshold: 90, forMs: 0, scale: 90 / 0.99 },
  { metric: 'disk.free_bytes', labels: { mount: '/' }, op: '<', threshold: 1e9, forMs: 0, scale: 1e11 },
  { metric: 'load.1m', labels: {}, op: '>', threshold: 8, forMs: 2 * MIN, scale: 8 / 0.99 },
];
const monitors = SERIES.map((s) => ({
  policy: 'bench',
  name: s.metric.replace('.', '-'),
  metric: s.metric,
  match: s.labels,
  op: s.op,
  threshold: s.threshold,
  forMs: s.forMs,
  intervalMs: MIN,
  severity: 'Warning',
  autoResolve: true,
}));

// A fixed pseudo-random stream, so every run measures the same values.
let seed = 42;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
// Each value is over (or, for free bytes, under) its threshold about once in 100.
const sampleValue = (s) => random() * s.scale;

const gc = () => globalThis.gc?.();
const memory = () => {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.arrayBuffers };
};
const timed = (fn) => {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(cpu);
  return { result, wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
};
const names = Array.from({ length: DEVICES }, (_, d) => `dev-${String(d).padStart(6, '0')}`);

const before = memory();
const hot = new HotTier();
// Samples arrive as a cycle's collectors return them: a device's at a time, not one array of all.
const addCycle = (at) => {
  for (const device of names)
    hot.add(
      SERIES.map((s) => ({ device, metric: s.metric, labels: s.labels, value: sampleValue(s), at })),
      at,
    );
};
const fill = timed(() => {
  for (let k = 0; k < SAMPLES; k++) addCycle(T0 + k * MIN);
});
const filled = memory();
const byDevice = new Map(names.map((device) => [device, monitors]));
let now = T0 + (SAMPLES - 1) * MIN;
const evaluator = new Evaluator({ startedAt: T0 - 1 });
const full = timed(() => evaluator.evaluate(hot, byDevice, now));

now += MIN;
const add = timed(() => {
  addCycle(now);
  hot.evict(now);
});
const steady = timed(() => evaluator.evaluate(hot, byDevice, now));
const peakRssMb = process.resourceUsage().maxRSS / 1024;

// The floor: the same number of values, flat, each compared with its series' threshold.
const values = new Float64Array(DEVICES * SERIES.length * SAMPLES);
for (let i = 0; i < values.length; i++)
  values[i] = sampleValue(SERIES[Math.floor(i / SAMPLES) % SERIES.length]);
const thresholds = Float64Array.from(SERIES, (s) => s.threshold);
const floor = timed(() => {
  let over = 0;
  for (let series = 0; series < DEVICES * SERIES.length; series++) {
    const threshold = thresholds[series % SERIES.length];
    for (let k = 0; k < SAMPLES; k++) if (values[series * SAMPLES + k] > threshold) over++;
  }
  return over;
});

process.stdout.write(
  JSON.stringify({
    timedMs: full.wallMs,
    cpuMs: full.cpuMs,
    series: hot.seriesCount,
    samples: DEVICES * SERIES.length * SAMPLES,
    fired: full.result.filter((t) => t.kind === 'fire').length,
    parts: {
      fill: { wallMs: fill.wallMs, cpuMs: fill.cpuMs },
      full: { wallMs: full.wallMs, cpuMs: full.cpuMs },
      add: { wallMs: add.wallMs, cpuMs: add.cpuMs },
      steady: { wallMs: steady.wallMs, cpuMs: steady.cpuMs },
      floor: { wallMs: floor.wallMs, cpuMs: floor.cpuMs },
    },
    steadyTransitions: steady.result.length,
    floorOver: floor.result,
    bytesPerSeries: (filled.heap - before.heap) / hot.seriesCount,
    rssBytesPerSeries: (filled.rss - before.rss) / hot.seriesCount,
    typedBytesPerSeries: hot.typedBytes() / hot.seriesCount,
    peakRssMb,
  }),
);
