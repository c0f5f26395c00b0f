import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSshTransport } from '../../plugins/ssh/src/transport.js';
import type { DeviceRecord } from '../../src/actions/targets.js';
import { type CollectTarget, collectRound } from '../../src/monitoring/collect-round.js';
import type { CollectorRequest } from '../../src/monitoring/collector-request.js';
import { SessionPool, type SessionPoolOptions } from '../../src/monitoring/session-pool.js';
import { TRANSPORT_API_VERSION, TransportError } from '../../src/plugin/api.js';
import { freePort } from '../helpers/child-server.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';
import { startTcpCutter, type TcpCutter } from '../helpers/tcp-cutter.js';
import { SPECS } from './specs.js';

// Sessions kept open between rounds, against the tests' real OpenSSH. Connections are counted at
// the sshd (one "Accepted publickey" line per login in its log), not by the pool: a TCP connection
// without a login (the helper's check that sshd listens) is not a session.
const ssh = createSshTransport({ apiVersion: TRANSPORT_API_VERSION, TransportError });
const DISK: CollectorRequest = { metrics: [{ metric: 'disk.used_percent', instances: ['/'] }] };
const BACKOFF = { firstMs: 1_000, maxMs: 8_000 };

let sshd: Sshd;
let cutter: TcpCutter;
beforeAll(async () => {
  sshd = await startSshd();
  cutter = await startTcpCutter(sshd.port);
  process.env.RMM_KNOWN_HOSTS_DIRS = sshd.dir;
});
afterAll(async () => {
  await cutter?.close();
  await sshd?.stop();
});

const pools: SessionPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

/** Devices named dev-0.., all this sshd; `via` sends one through the cutter (its key pinned, as known_hosts names the port). */
function devices(count: number, via?: { index: number; port: number }): DeviceRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const cut = via?.index === i;
    return {
      name: `dev-${i}`,
      host: '127.0.0.1',
      os: 'linux',
      site: 'alpha',
      groups: [],
      labels: {},
      transport: {
        type: 'ssh',
        port: cut ? via.port : sshd.port,
        user: sshd.user,
        credentialRef: `file:${sshd.clientKeyPath}`,
        ...(cut
          ? { hostKeyFingerprint: sshd.hostKeyFingerprint, keepaliveIntervalMs: 0 }
          : { knownHosts: sshd.knownHostsPath }),
      },
    };
  });
}

function targets(list: DeviceRecord[], request = DISK): CollectTarget[] {
  return list.map((device) => ({ device, request, measures: { reachable: true, ports: [] } }));
}

/** An injected clock and a pool on it. */
function setup(options: Partial<SessionPoolOptions> = {}) {
  const clock = { time: Date.UTC(2025, 0, 1) };
  const pool = new SessionPool({
    transports: new Map([['ssh', ssh]]),
    credentials: { envPrefixes: ['RMM_'], dirs: [sshd.dir] },
    now: () => clock.time,
    random: () => 0.5,
    backoff: BACKOFF,
    idleMs: 60_000,
    ...options,
  });
  pools.push(pool);
  const round = (list: CollectTarget[], concurrency = 10) =>
    collectRound(list, {
      pool,
      specs: SPECS,
      now: () => clock.time,
      concurrency,
      deviceTimeoutMs: 15_000,
    });
  return { clock, pool, round };
}

async function connectionsSoFar(): Promise<number> {
  const log = await readFile(sshd.logPath, 'utf8');
  return log.split('\n').filter((line) => line.includes('Accepted publickey')).length;
}

const reachable = (result: { reachability: { device: string; reachable: boolean }[] }) =>
  Object.fromEntries(result.reachability.map((r) => [r.device, r.reachable]));

describe('the session pool, against a real sshd', () => {
  it('keeps sessions open across rounds: 5 devices, 3 rounds, 5 connections', async () => {
    const { pool, round } = setup();
    const list = targets(devices(5));
    const before = await connectionsSoFar();
    for (let i = 0; i < 3; i++) {
      const result = await round(list);
      expect(result.warnings).toEqual([]);
      expect(result.reachability.every((r) => r.reachable)).toBe(true);
      const disks = result.samples.filter((s) => s.metric === 'disk.used_percent');
      expect(disks.map((s) => s.device).sort()).toEqual(['dev-0', 'dev-1', 'dev-2', 'dev-3', 'dev-4']);
      expect(disks.every((s) => s.labels.mount === '/' && s.value > 0 && s.value <= 100)).toBe(true);
      expect(result.samples.filter((s) => s.metric === 'device.reachable').map((s) => s.value)).toEqual([
        1, 1, 1, 1, 1,
      ]);
    }
    expect((await connectionsSoFar()) - before).toBe(5);
    expect(pool.stats()).toMatchObject({ open: 5, connects: 5, connectFailures: 0 });
  });

  it('never holds more sessions than its bound, and still collects from every device', async () => {
    const { pool, round } = setup({ maxOpen: 2 });
    const result = await round(targets(devices(5)), 5);
    expect(Object.values(reachable(result))).toEqual([true, true, true, true, true]);
    expect(pool.stats().peakOpen).toBeLessThanOrEqual(2);
    expect(pool.stats().open).toBeLessThanOrEqual(2);
  });

  it('closes sessions unused for the idle time, on the injected clock', async () => {
    const { clock, pool, round } = setup({ idleMs: 60_000 });
    const list = targets(devices(3));
    await round(list);
    clock.time += 59_999;
    expect(await pool.closeIdle()).toBe(0);
    clock.time += 1;
    expect(await pool.closeIdle()).toBe(3);
    expect(pool.stats().open).toBe(0);
    const before = await connectionsSoFar();
    await round(list);
    expect((await connectionsSoFar()) - before).toBe(3);
  });

  it('reports devices unreachable while sshd is down, and reconnects after the backoff once it is back', async () => {
    const { clock, round } = setup();
    const list = targets(devices(3));
    await round(list);
    await sshd.halt();
    try {
      const down = await round(list);
      expect(Object.values(reachable(down))).toEqual([false, false, false]);
      expect(down.reachability.every((r) => r.at === clock.time && r.since === clock.time)).toBe(true);
      expect(down.samples.filter((s) => s.metric === 'device.reachable').map((s) => s.value)).toEqual([
        0, 0, 0,
      ]);
      expect(down.samples.filter((s) => s.metric === 'disk.used_percent')).toEqual([]);
    } finally {
      await sshd.resume();
    }
    const before = await connectionsSoFar();
    // Back, but within the backoff (1 s, jitter 0.5 -> 750 ms): not tried, still unreachable since then.
    const since = clock.time;
    clock.time += 700;
    const waiting = await round(list);
    expect(Object.values(reachable(waiting))).toEqual([false, false, false]);
    expect(waiting.reachability[0]?.since).toBe(since);
    expect(waiting.reachability[0]?.error).toMatch(/not tried again until/);
    expect(await connectionsSoFar()).toBe(before);
    clock.time += 100;
    const back = await round(list);
    expect(Object.values(reachable(back))).toEqual([true, true, true]);
    expect(back.samples.filter((s) => s.metric === 'disk.used_percent')).toHaveLength(3);
    expect((await connectionsSoFar()) - before).toBe(3);
  });

  it('a session killed in the middle of a round: that device unreachable, the others collected', async () => {
    const { clock, round } = setup();
    const list = targets(devices(4, { index: 2, port: cutter.port }));
    const first = await round(list);
    expect(Object.values(reachable(first))).toEqual([true, true, true, true]);
    cutter.cutOnNextData();
    const cut = await round(list);
    expect(cutter.cuts()).toBe(1);
    expect(reachable(cut)).toEqual({ 'dev-0': true, 'dev-1': true, 'dev-2': false, 'dev-3': true });
    expect(cut.reachability.find((r) => r.device === 'dev-2')?.error).toMatch(/dev-2/);
    expect(
      cut.samples
        .filter((s) => s.metric === 'disk.used_percent')
        .map((s) => s.device)
        .sort(),
    ).toEqual(['dev-0', 'dev-1', 'dev-3']);
    clock.time += BACKOFF.firstMs;
    const again = await round(list);
    expect(Object.values(reachable(again))).toEqual([true, true, true, true]);
  });

  it('measures tcp.connect_ms from the console beside the collection, and warns of a closed port', async () => {
    const { round } = setup();
    const closed = await freePort();
    const [dev] = devices(1);
    const result = await round([
      {
        device: dev as DeviceRecord,
        request: { metrics: [] },
        measures: { reachable: true, ports: [sshd.port, closed] },
      },
    ]);
    expect(result.reachability).toMatchObject([{ device: 'dev-0', reachable: true }]);
    const probes = result.samples.filter((s) => s.metric === 'tcp.connect_ms');
    expect(probes).toMatchObject([{ device: 'dev-0', labels: { port: String(sshd.port) } }]);
    expect(probes[0]?.value).toBeGreaterThanOrEqual(0);
    expect(result.warnings).toEqual([
      {
        device: 'dev-0',
        message: `tcp.connect_ms{port=${closed}}: no connection to 127.0.0.1:${closed}: ECONNREFUSED`,
      },
    ]);
  });

  it('drops a session the server ended between rounds, so the next round reconnects instead of failing', async () => {
    const { pool, round } = setup();
    const list = targets(devices(2));
    await round(list);
    await sshd.halt();
    await sshd.resume();
    // connectionClosed settles as the kill reaches the client; bounded wait for the pool to see it.
    for (let i = 0; i < 100 && pool.stats().open > 0; i++) await new Promise((r) => setImmediate(r));
    const before = await connectionsSoFar();
    const result = await round(list);
    expect(Object.values(reachable(result))).toEqual([true, true]);
    expect((await connectionsSoFar()) - before).toBe(2);
  });
});
