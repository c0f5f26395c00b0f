// One ingest measurement in a process of its own (bench/ingest.js): a fresh console database with
// 100,000 devices, 1,000,000 samples built in memory (not timed), then timed: written through rmm's
// storage path (metric-store + sample-writer), or by the floor, bare better-sqlite3 inserting the same
// rows into the same table with one prepared statement in one transaction. Prints one JSON line.
//   node bench/ingest-child.js rmm|floor FILE
import { statSync } from 'node:fs';
import { metricStore } from '../dist/monitoring/metric-store.js';
import { writeSamples } from '../dist/monitoring/sample-writer.js';
import { canonicalLabels } from '../dist/monitoring/samples.js';
import { openDatabase } from '../dist/state/connection.js';
import { loadDeclaredSchema } from '../dist/state/declared-schema.js';
import { diffSchemas } from '../dist/state/diff.js';
import { inspectDatabase } from '../dist/state/inspect.js';
import { applyMigration } from '../dist/state/migrate.js';
import { planMigration } from '../dist/state/migration-plan.js';

const DEVICES = 100_000;
const METRICS = [
  ['cpu.percent', {}],
  ['memory.used_percent', {}],
  ['disk.used_percent', { mount: '/' }],
  ['disk.free_bytes', { mount: '/' }],
  ['load.1m', {}],
  ['uptime.seconds', {}],
  ['service.running', { name: 'sshd' }],
  ['process.count', { name: 'nginx' }],
  ['reboot.pending', {}],
  ['device.reachable', {}],
];
const [mode, file] = process.argv.slice(2);

const declared = loadDeclaredSchema();
const db = openDatabase(file);
applyMigration(db, planMigration(diffSchemas(inspectDatabase(db, declared.seeds), declared)), {
  allowDestructive: false,
});
const device = db.prepare('INSERT INTO Devices (DeviceId, Hostname) VALUES (?, ?)');
const name = (d) => `dev-${String(d).padStart(6, '0')}`;
db.transaction(() => {
  for (let d = 0; d < DEVICES; d++) device.run(name(d), name(d));
})();

// One cycle's worth per device, devices in order, as a collection would hand them over.
const at = Date.UTC(2025, 0, 1);
const samples = [];
for (let d = 0; d < DEVICES; d++) {
  for (const [metric, labels] of METRICS)
    samples.push({ device: name(d), metric, labels, value: (d % 100) + 0.5, at: at + d });
}

const cpuBefore = process.cpuUsage();
const started = performance.now();
let written;
if (mode === 'rmm') {
  const outcome = await writeSamples(metricStore(db), samples, { pause: async () => {} });
  if (outcome.unwritten.length > 0 || outcome.refused.length > 0) throw new Error('samples left out');
  written = outcome.written;
} else {
  const insert = db.prepare(
    'INSERT INTO Metrics (DeviceId, MetricType, Labels, Value, Unit, Timestamp) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const labelText = METRICS.map(([, labels]) => canonicalLabels(labels));
  db.transaction(() => {
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      insert.run(s.device, s.metric, labelText[i % METRICS.length], s.value, null, s.at);
    }
  })();
  written = samples.length;
}
const timedMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();
console.log(
  JSON.stringify({
    timedMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rows: written,
    fileBytes: statSync(file).size,
  }),
);
