import { alertStore } from '../../src/monitoring/alert-store.js';
import { metricStore } from '../../src/monitoring/metric-store.js';
import { deviceHealth } from '../../src/service/monitoring-sinks.js';
import { openDatabase } from '../../src/state/connection.js';

/**
 * A stand-in for `rmm serve`'s writes, as a process of its own beside the CLI under test:
 * `node --import tsx observed-writer-process.ts DB MAX_ROUNDS`. Each round writes, for every device
 * it read at start (a stale fleet, as the service's is between rereads), Devices.Status/LastSeen,
 * one cpu.percent sample, and raises or resolves one alert, each on serve's own modules and clock
 * (one second a round, so LastSeen only grows). It prints `ready` after its first round, and stops
 * after MAX_ROUNDS or when its stdin ends, then prints one JSON line: rounds, refused samples and
 * alerts (devices an apply removed), and any error (a locked database included; none is expected:
 * writes wait for the lock within the connection's busy timeout).
 */
const [file, maxText] = process.argv.slice(2);
if (!file || !maxText) throw new Error('usage: observed-writer-process.ts DB MAX_ROUNDS');
const maxRounds = Number(maxText);
const db = openDatabase(file);
const devices = db.prepare('SELECT DeviceId FROM Devices ORDER BY DeviceId').pluck().all() as string[];
let now = Date.UTC(2026, 0, 1);
const health = deviceHealth(db);
const metrics = metricStore(db);
const alerts = alertStore(db, { now: () => now });

let stop = false;
process.stdin.on('end', () => {
  stop = true;
});
process.stdin.resume();

const report = { rounds: 0, refusedSamples: 0, refusedAlerts: 0, errors: [] as string[] };
for (let round = 0; round < maxRounds && !stop; round++) {
  now += 1000;
  try {
    health.record(devices.map((device) => ({ device, reachable: true, at: now })));
    const batch = metrics.insertBatch(
      devices.map((device) => ({ device, metric: 'cpu.percent', labels: {}, value: round % 100, at: now })),
    );
    report.refusedSamples += batch.refused.length;
    const device = devices[round % devices.length] as string;
    const open = alerts.open().find((a) => a.device === device);
    if (open) alerts.resolve(open.id, { by: 'rmm-serve', auto: true });
    else {
      const raised = alerts.raise(
        {
          device,
          alertType: 'monitor',
          severity: 'Warning',
          title: 'cpu-high',
          message: `cpu.percent is ${round % 100}`,
          source: 'linux-baseline/cpu-high',
          instance: '',
        },
        'rmm-serve',
      );
      if (raised.outcome === 'unknown-device') report.refusedAlerts++;
    }
  } catch (error) {
    report.errors.push((error as Error).message);
  }
  report.rounds = round + 1;
  if (round === 0) process.stdout.write('ready\n');
  // Lets the stdin 'end' event in between rounds; not a pause.
  await new Promise((resolve) => setImmediate(resolve));
}
db.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
