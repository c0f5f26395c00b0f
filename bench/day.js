// The simulated day (issue 12), run by bench/run.js in a fresh process with --expose-gc: 1,000
// devices at 1-minute intervals for 1,440 cycles on an injected clock, through rmm serve's real
// storage and evaluation path (hot tier, evaluator, the stored sample and alert sinks, the metric
// and alert stores, Devices.Status) into a real SQLite file. Collection is FAKE and in-process:
// samples are generated, no SSH, no collector parse; this measures storage and evaluation only.
// Prints one JSON line: database growth, RSS at cycle 100 and 1,000, cycle times, rows written.
// RMM_DAY_DEVICES and RMM_DAY_CYCLES shrink it for a quick look (the day took 8 minutes of wall
// time on the shared 2-core machine it was written on, most of it in SQLite's writes).
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { alertStore } from '../dist/monitoring/alert-store.js';
import { Evaluator } from '../dist/monitoring/evaluator.js';
import { HotTier } from '../dist/monitoring/hot-tier.js';
import { metricStore } from '../dist/monitoring/metric-store.js';
import { deviceOfflineMonitor } from '../dist/monitoring/monitors.js';
import { deviceHealth } from '../dist/service/monitoring-sinks.js';
import { storedAlertSink, storedSampleSink } from '../dist/service/stored-sinks.js';
import { openDatabase } from '../dist/state/connection.js';
import { loadDeclaredSchema } from '../dist/state/declared-schema.js';
import { applyMigration } from '../dist/state/migrate.js';
import { pendingMigration } from '../dist/state/pending-migration.js';

const DEVICES = Number(process.env.RMM_DAY_DEVICES ?? 1000);
const CYCLES = Number(process.env.RMM_DAY_CYCLES ?? 1440);
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const dir = process.argv[2] ?? path.join(import.meta.dirname, '.work', 'day');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const file = path.join(dir, 'devices.db');

const db = openDatabase(file);
applyMigration(db, pendingMigration(db, loadDeclaredSchema()).plan, { allowDestructive: false });
const names = Array.from({ length: DEVICES }, (_, d) => `dev-${String(d).padStart(5, '0')}`);
const insert = db.prepare("INSERT INTO Devices (DeviceId, Hostname, SiteId) VALUES (?, ?, 'main')");
db.transaction(() => {
  for (const name of names) insert.run(name, name);
})();

// Six samples per device a minute (what its five monitors and the device-offline one read).
const SERIES = [
  { metric: 'cpu.percent', labels: {}, scale: 100 },
  { metric: 'memory.used_percent', labels: {}, scale: 100 },
  { metric: 'disk.used_percent', labels: { mount: '/' }, scale: 100 },
  { metric: 'disk.free_bytes', labels: { mount: '/' }, scale: 1e11, whole: true },
  { metric: 'load.1m', labels: {}, scale: 8 },
];
const monitor = (name, metric, labels, op, threshold, forMs) => ({
  policy: 'bench',
  name,
  metric,
  match: labels,
  op,
  threshold,
  forMs,
  intervalMs: MIN,
  severity: 'Warning',
  autoResolve: true,
});
const monitors = [
  monitor('cpu-high', 'cpu.percent', {}, '>', 99, 3 * MIN),
  monitor('memory-high', 'memory.used_percent', {}, '>', 99.5, 5 * MIN),
  monitor('disk-root', 'disk.used_percent', { mount: '/' }, '>', 99.9, 0),
  monitor('disk-free', 'disk.free_bytes', { mount: '/' }, '<', 1e8, 0),
  monitor('load-high', 'load.1m', {}, '>', 7.9, 2 * MIN),
  deviceOfflineMonitor({ afterMs: 5 * MIN, intervalMs: MIN }),
];
const byDevice = new Map(names.map((n) => [n, monitors]));

let seed = 7;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
// One device in 200 is away for a stretch of the day (the offline alert fires and resolves).
const away = (d, k) => d % 200 === 0 && k >= 300 && k < 320;

const log = { info() {}, warn() {}, error() {} };
const pause = async () => {};
const clock = { time: T0 };
const hot = new HotTier();
const samples = storedSampleSink(metricStore(db), { pause, log });
const alerts = storedAlertSink(alertStore(db, { now: () => clock.time }), { pause, log, actor: 'bench' });
const health = deviceHealth(db);
const evaluator = new Evaluator({ startedAt: T0 - 1, openAlerts: alerts.open() });

const gc = () => globalThis.gc?.();
const rssMb = () => {
  gc();
  return process.memoryUsage().rss / 1048576;
};
const dbBytes = () => {
  db.pragma('wal_checkpoint(TRUNCATE)');
  return statSync(file).size;
};
const startBytes = dbBytes();
const rss = {};
const cycleMs = [];
let written = 0;
let fired = 0;
let resolved = 0;
const started = performance.now();
const cpu = process.cpuUsage();
for (let k = 0; k < CYCLES; k++) {
  const t = performance.now();
  const at = T0 + k * MIN + 1;
  clock.time = at;
  const batch = [];
  const reachability = [];
  for (let d = 0; d < DEVICES; d++) {
    const device = names[d];
    const reachable = !away(d, k);
    reachability.push({ device, reachable, at });
    batch.push({ device, metric: 'device.reachable', labels: {}, value: reachable ? 1 : 0, at });
    if (!reachable) continue;
    for (const s of SERIES) {
      const v = random() * s.scale;
      batch.push({ device, metric: s.metric, labels: s.labels, value: s.whole ? Math.floor(v) : v, at });
    }
  }
  hot.add(batch, at);
  const transitions = evaluator.evaluate(hot, byDevice, at);
  await samples.write(batch);
  await alerts.apply(transitions, at);
  health.record(reachability);
  hot.evict(at);
  written += batch.length;
  for (const tr of transitions) tr.kind === 'fire' ? fired++ : resolved++;
  cycleMs.push(performance.now() - t);
  if (k + 1 === 100 || k + 1 === 1000 || k + 1 === CYCLES) rss[k + 1] = rssMb();
}
const used = process.cpuUsage(cpu);
const wallMs = performance.now() - started;
const endBytes = dbBytes();
const sorted = [...cycleMs].sort((a, b) => a - b);
const count = (sql) => db.prepare(sql).pluck().get();
process.stdout.write(
  JSON.stringify({
    timedMs: wallMs,
    cpuMs: (used.user + used.system) / 1000,
    devices: DEVICES,
    cycles: CYCLES,
    samples: written,
    growthBytes: endBytes - startBytes,
    bytesPerSample: (endBytes - startBytes) / written,
    rss,
    cycleMedianMs: sorted[Math.floor(sorted.length / 2)],
    cycleP99Ms: sorted[Math.floor(sorted.length * 0.99)],
    fired,
    resolved,
    alertRows: count('SELECT count(*) FROM Alerts'),
    auditRows: count('SELECT count(*) FROM AuditLog'),
    actionRows: count('SELECT count(*) FROM Actions'),
    held: samples.held(),
  }),
);
db.close();
rmSync(dir, { recursive: true, force: true });
