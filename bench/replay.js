// The replay benchmark's input (issue 13), made once by bench/run.js (not measured): a data
// directory where `rmm apply` declared 1,000 devices in a group whose policy monitors cpu.percent,
// and 7 days of 1-minute samples of that series per device (10,080,000 rows) written straight into
// its SQLite file through the metric store. Kept under bench/.work/replay and reused while the
// device count matches and all its samples still lie within the last 8 days: the plan is measured
// with --replay 8d, so one input serves for most of a day (RMM_REPLAY_DEVICES shrinks it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { metricStore } from '../dist/monitoring/metric-store.js';
import { openDatabase } from '../dist/state/connection.js';

export const REPLAY_DAYS = 7;
/** The plan's window: the 7 stored days, and a day for the input to age before it is made again. */
export const REPLAY_FLAG = '8d';
const MIN = 60_000;

const policy = (threshold) => `apiVersion: rmm/v1
kind: Policy
metadata: {name: bench}
spec:
  monitors:
    - {name: cpu-high, metric: cpu.percent, when: {op: ">", value: ${threshold}, for: 3m}, severity: Warning, autoResolve: true}
---
apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: fleet}
spec: {policy: bench}
`;

export function replayInput({ work, cli }) {
  const devices = Number(process.env.RMM_REPLAY_DEVICES ?? 1000);
  const dir = path.join(work, 'replay');
  const dataDir = path.join(dir, 'data');
  const stamp = path.join(dir, 'input.json');
  // Applied with the threshold at 90, then rewritten at 80: the plan changes the policy only.
  const changed = path.join(dir, 'fleet.yaml');
  const minutes = REPLAY_DAYS * 1440;
  const reuse = existsSync(stamp) && JSON.parse(readFileSync(stamp, 'utf8')).devices === devices;
  if (reuse) {
    const { end } = JSON.parse(readFileSync(stamp, 'utf8'));
    // Samples older than the window are not read: made again before the oldest could leave it.
    if (Date.now() - end < 20 * 60 * MIN) return { dataDir, changed, devices, rows: devices * minutes, end };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const names = Array.from({ length: devices }, (_, d) => `dev-${String(d).padStart(5, '0')}`);
  const fleet = names
    .map(
      (n) =>
        `---\napiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${n}}\nspec: {site: main, address: 127.0.0.1, os: linux, groups: [fleet]}\n`,
    )
    .join('');
  writeFileSync(changed, policy(90) + fleet);
  const run = (...args) => {
    const child = spawnSync(process.execPath, [cli, ...args, '--data-dir', dataDir], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`rmm ${args.join(' ')}: ${child.stdout}${child.stderr}`);
  };
  run('init');
  run('apply', '-f', changed, '--auto-approve');
  writeFileSync(changed, policy(80) + fleet);

  const db = openDatabase(path.join(dataDir, 'devices.db'));
  const store = metricStore(db, { batchSize: 50_000 });
  const end = Date.now() - MIN;
  const start = end - (minutes - 1) * MIN;
  let seed = 11;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const started = performance.now();
  let batch = [];
  for (const device of names)
    for (let m = 0; m < minutes; m++) {
      // Mostly 20-80; a stretch of 10 minutes at 82-100 about once in 4 hours per device.
      const hot = (m + device.length * 37) % 240 < 10 && random() < 0.5;
      batch.push({
        device,
        metric: 'cpu.percent',
        labels: {},
        value: hot ? 82 + random() * 18 : 20 + random() * 60,
        at: start + m * MIN,
      });
      if (batch.length === store.batchSize) {
        store.insertBatch(batch);
        batch = [];
      }
    }
  store.insertBatch(batch);
  db.close();
  writeFileSync(stamp, JSON.stringify({ devices, end }));
  console.log(
    `  (input: ${devices * minutes} samples written in ${((performance.now() - started) / 1000).toFixed(0)} s, not measured)`,
  );
  return { dataDir, changed, devices, rows: devices * minutes, end };
}
