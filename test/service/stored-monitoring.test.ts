import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSshTransport } from '../../plugins/ssh/src/transport.js';
import type { DeviceRecord } from '../../src/actions/targets.js';
import { alertStore } from '../../src/monitoring/alert-store.js';
import { metricStore } from '../../src/monitoring/metric-store.js';
import type { EffectiveMonitor } from '../../src/monitoring/monitors.js';
import { SessionPool } from '../../src/monitoring/session-pool.js';
import { TRANSPORT_API_VERSION, TransportError } from '../../src/plugin/api.js';
import { CollectingCycle } from '../../src/service/monitoring-cycle.js';
import { deviceHealth } from '../../src/service/monitoring-sinks.js';
import { memoryLog } from '../../src/service/service-log.js';
import { storedAlertSink, storedSampleSink } from '../../src/service/stored-sinks.js';
import type { Db } from '../../src/state/connection.js';
import { consoleDatabase } from '../helpers/console-db.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';
import { SPECS } from '../monitoring/specs.js';

/**
 * rmm serve's monitoring as the command assembles it, against the tests' real OpenSSH and a real
 * SQLite file, on an injected clock: samples into Metrics, alerts into Alerts, the hot tier warmed
 * from Metrics on a restart, the device-offline alert when sshd is down, and a held write lock.
 */
const ssh = createSshTransport({ apiVersion: TRANSPORT_API_VERSION, TransportError });
const MIN = 60_000;
let sshd: Sshd;
let dir: string;
beforeAll(async () => {
  sshd = await startSshd();
  process.env.RMM_KNOWN_HOSTS_DIRS = sshd.dir;
  dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-stored-mon-'));
});
afterAll(async () => {
  await sshd?.stop();
  await rm(dir, { recursive: true, force: true });
});

const device = (): DeviceRecord => ({
  name: 'mon-1',
  host: '127.0.0.1',
  os: 'linux',
  site: 'main',
  groups: [],
  labels: {},
  transport: {
    type: 'ssh',
    port: sshd.port,
    user: sshd.user,
    credentialRef: `file:${sshd.clientKeyPath}`,
    knownHosts: sshd.knownHostsPath,
  },
});

const disk = (forMs: number): EffectiveMonitor => ({
  policy: 'base',
  name: 'disk-root',
  metric: 'disk.used_percent',
  match: { mount: '/' },
  op: '>',
  threshold: -1,
  forMs,
  intervalMs: MIN,
  severity: 'Warning',
  autoResolve: true,
});

let db: Db | undefined;
let cycles: CollectingCycle[] = [];
afterEach(async () => {
  for (const c of cycles) await c.close();
  cycles = [];
  db?.close();
  db = undefined;
});

const noPause = async () => {};

/** A cycle as rmm serve builds it, over one database, on the injected clock. */
function storedCycle(
  database: Db,
  clock: { time: number },
  monitors: () => EffectiveMonitor[],
  extra: { offlineAfterMs?: number } = {},
) {
  const now = () => clock.time;
  const log = memoryLog();
  const metrics = metricStore(database);
  const health = deviceHealth(database);
  const cycle = new CollectingCycle({
    pool: new SessionPool({
      transports: new Map([['ssh', ssh]]),
      credentials: { envPrefixes: ['RMM_'], dirs: [sshd.dir] },
      now,
    }),
    specs: SPECS,
    plan: () => ({ devices: [device()], monitors: new Map([['mon-1', monitors()]]) }),
    samples: storedSampleSink(metrics, { pause: noPause, log }),
    alerts: storedAlertSink(alertStore(database, { now }), { pause: noPause, log, actor: 'serve-test' }),
    warm: (since, visit) => metrics.forEachSince(since, visit),
    reachability: (r) => health.record(r),
    now,
    ...extra,
  });
  cycles.push(cycle);
  return { cycle, log };
}

/** One cycle; its samples arrive 1 ms after it starts (the evaluator judges samples after its start). */
async function runAt(cycle: CollectingCycle, clock: { time: number }, at: number) {
  clock.time = at + 1;
  return cycle.run(at, new AbortController().signal);
}

const alerts = (database: Db) =>
  database
    .prepare(
      'SELECT AlertType, Source, Instance, ResolvedAt, ResolvedBy, AutoResolved FROM Alerts ORDER BY rowid',
    )
    .all() as Array<Record<string, unknown>>;

describe('rmm serve monitoring, stored', { timeout: 60_000 }, () => {
  it('a restart warms the hot tier from Metrics and keeps the `for` progress', async () => {
    db = consoleDatabase(path.join(dir, 'warm.db'), ['mon-1']);
    const clock = { time: 0 };
    const t0 = Date.UTC(2026, 0, 1);
    const first = storedCycle(db, clock, () => [disk(2 * MIN)]).cycle;
    expect(await runAt(first, clock, t0)).toMatchObject({ reached: 1, fired: 0 });
    await first.close();
    // A new serve on the same database: the first sample (t0) began the hold; two minutes later it fires.
    const second = storedCycle(db, clock, () => [disk(2 * MIN)]).cycle;
    expect(await runAt(second, clock, t0 + MIN)).toMatchObject({ fired: 0 });
    expect(await runAt(second, clock, t0 + 2 * MIN)).toMatchObject({ fired: 1 });
    expect(alerts(db)).toEqual([
      expect.objectContaining({
        AlertType: 'monitor',
        Source: 'base/disk-root',
        Instance: 'mount=/',
        ResolvedAt: null,
      }),
    ]);
    const stored = db
      .prepare("SELECT count(*) AS n FROM Metrics WHERE MetricType = 'disk.used_percent'")
      .get();
    expect(stored).toEqual({ n: 3 });
  });

  it('an alert open in the store is not raised again by a new serve, acknowledged or not', async () => {
    db = consoleDatabase(path.join(dir, 'restart.db'), ['mon-1']);
    const clock = { time: 0 };
    const t0 = Date.UTC(2026, 0, 1);
    const first = storedCycle(db, clock, () => [disk(0)]).cycle;
    expect(await runAt(first, clock, t0)).toMatchObject({ fired: 1 });
    await first.close();
    const store = alertStore(db, { now: () => clock.time });
    const [open] = store.open();
    expect(store.acknowledge(open?.id as string, { by: 'ops' })).toBe('changed');
    const second = storedCycle(db, clock, () => [disk(0)]).cycle;
    expect(await runAt(second, clock, t0 + MIN)).toMatchObject({ fired: 0, resolved: 0 });
    expect(alerts(db)).toHaveLength(1);
    expect(alerts(db)[0]).toMatchObject({ ResolvedAt: null });
  });

  it('an alert an operator resolves while the condition holds on is raised again as a new alert', async () => {
    db = consoleDatabase(path.join(dir, 'operator.db'), ['mon-1']);
    const clock = { time: 0 };
    const t0 = Date.UTC(2026, 0, 1);
    const { cycle } = storedCycle(db, clock, () => [{ ...disk(0), autoResolve: false }]);
    expect(await runAt(cycle, clock, t0)).toMatchObject({ fired: 1 });
    const store = alertStore(db, { now: () => clock.time });
    expect(store.resolve(store.open()[0]?.id as string, { by: 'ops', auto: false })).toBe('changed');
    expect(await runAt(cycle, clock, t0 + MIN)).toMatchObject({ fired: 1 });
    expect(alerts(db).map((a) => [a.ResolvedBy, a.ResolvedAt === null])).toEqual([
      ['ops', false],
      [null, true],
    ]);
  });

  it('a monitor removed while its alert is open resolves it, saying why', async () => {
    db = consoleDatabase(path.join(dir, 'removed.db'), ['mon-1']);
    const clock = { time: 0 };
    const t0 = Date.UTC(2026, 0, 1);
    let monitors = [disk(0)];
    const { cycle } = storedCycle(db, clock, () => monitors);
    expect(await runAt(cycle, clock, t0)).toMatchObject({ fired: 1 });
    monitors = [];
    expect(await runAt(cycle, clock, t0 + MIN)).toMatchObject({ resolved: 1 });
    expect(alerts(db)).toEqual([
      expect.objectContaining({
        Source: 'base/disk-root',
        ResolvedAt: expect.any(String),
        ResolvedBy: 'rmm serve (monitor removed)',
        AutoResolved: 1,
      }),
    ]);
  });

  it('raises one device-offline alert when sshd is down past the threshold, resolved when it answers', async () => {
    const database = consoleDatabase(path.join(dir, 'offline.db'), ['mon-1']);
    db = database;
    const clock = { time: 0 };
    const t0 = Date.UTC(2026, 0, 1);
    // A disk monitor that never fires: the device is asked for something every cycle.
    const quiet = { ...disk(0), threshold: 101 };
    const { cycle } = storedCycle(db, clock, () => [quiet], { offlineAfterMs: 2 * MIN });
    const status = () => database.prepare('SELECT Status FROM Devices').pluck().get();
    expect(await runAt(cycle, clock, t0)).toMatchObject({ reached: 1 });
    expect(status()).toBe('Online');
    await sshd.halt();
    try {
      expect(await runAt(cycle, clock, t0 + MIN)).toMatchObject({ unreachable: 1, fired: 0 });
      expect(await runAt(cycle, clock, t0 + 2 * MIN)).toMatchObject({ unreachable: 1, fired: 0 });
      expect(await runAt(cycle, clock, t0 + 3 * MIN)).toMatchObject({ unreachable: 1, fired: 1 });
      expect(await runAt(cycle, clock, t0 + 4 * MIN)).toMatchObject({ unreachable: 1, fired: 0 });
      expect(status()).toBe('Offline');
      expect(alerts(db)).toEqual([
        expect.objectContaining({
          AlertType: 'device-offline',
          Source: 'rmm/device-offline',
          ResolvedAt: null,
        }),
      ]);
    } finally {
      await sshd.resume();
    }
    expect(await runAt(cycle, clock, t0 + 5 * MIN)).toMatchObject({ reached: 1, resolved: 1 });
    expect(status()).toBe('Online');
    expect(alerts(db)).toEqual([
      expect.objectContaining({
        AlertType: 'device-offline',
        ResolvedAt: expect.any(String),
        ResolvedBy: 'rmm serve',
        AutoResolved: 1,
      }),
    ]);
  });
});
