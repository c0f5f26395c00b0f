// The replay benchmark's measured process (issue 13), run by bench/run.js with the input of
// bench/replay.js: in one process, the floor (iterating the same rows of the same series by the same
// index ranges, bare better-sqlite3), then rmm's replay of one changed monitor (the plan's monitor
// changes, then replayPlan over the covered series), then the floor again (the first read may find
// a cold page cache). Prints one JSON line: times, CPU, peak RSS after each part, rows read, alerts.
import { computePlan } from '../dist/engine/plan.js';
import { seriesReader } from '../dist/replay/covered-series.js';
import { monitorChanges } from '../dist/replay/monitor-changes.js';
import { replayPlan } from '../dist/replay/plan-replay.js';
import { openDatabase } from '../dist/state/connection.js';
import { readStoredResources } from '../dist/state/resource-store.js';

const [file, days] = process.argv.slice(2);
const db = openDatabase(file, { readonly: true });
const until = Date.now();
const window = { since: until - Number(days) * 86_400_000, until };

const rssMb = () => process.resourceUsage().maxRSS / 1024;
const timed = (fn) => {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(cpu);
  return {
    result,
    wallMs: performance.now() - started,
    cpuMs: (used.user + used.system) / 1000,
    peakRssMb: rssMb(),
  };
};

const devices = db.prepare('SELECT DeviceId FROM Devices ORDER BY DeviceId').pluck().all();
const rows = db
  .prepare(
    "SELECT Timestamp, Value FROM Metrics WHERE DeviceId = ? AND MetricType = 'cpu.percent' AND Labels = '' AND Timestamp >= ? AND Timestamp < ? ORDER BY Timestamp",
  )
  .raw();
const floor = () =>
  timed(() => {
    let count = 0;
    let over = 0;
    for (const device of devices)
      for (const [, value] of rows.iterate(device, window.since, window.until)) {
        count++;
        if (value > 80) over++;
      }
    return { count, over };
  });
const countAll = () =>
  timed(() => db.prepare('SELECT count(*) FROM Metrics WHERE Timestamp >= ?').pluck().get(window.since));

const first = floor();
const count = countAll();
const changes = timed(() => {
  const stored = readStoredResources(db);
  const policy = stored.find((r) => r.kind === 'Policy' && r.name === 'bench');
  const monitors = policy.fields.monitors.map((m) => ({ ...m, when: { ...m.when, value: 80 } }));
  const plan = computePlan(
    [{ kind: 'Policy', name: 'bench', fields: { ...policy.fields, monitors } }],
    stored,
    {
      prune: false,
    },
  );
  return monitorChanges(stored, plan);
});
const replay = timed(() => replayPlan(seriesReader(db), changes.result.monitors, window));
const second = floor();
const best = first.wallMs < second.wallMs ? first : second;
const [monitor] = replay.result.monitors;

process.stdout.write(
  JSON.stringify({
    timedMs: replay.wallMs,
    cpuMs: replay.cpuMs,
    rows: best.result.count,
    samplesRead: replay.result.samplesRead,
    changedDevices: changes.result.devices,
    monitor,
    parts: {
      floorFirst: first,
      floorSecond: second,
      floor: best,
      count: { ...count, rows: count.result },
      changes: { wallMs: changes.wallMs, cpuMs: changes.cpuMs },
      replay: { wallMs: replay.wallMs, cpuMs: replay.cpuMs, peakRssMb: replay.peakRssMb },
    },
  }),
);
