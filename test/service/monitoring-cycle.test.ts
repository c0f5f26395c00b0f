import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshTransport } from '../../plugins/ssh/src/transport.js';
import type { DeviceRecord } from '../../src/actions/targets.js';
import type { EffectiveMonitor } from '../../src/monitoring/monitors.js';
import { SessionPool } from '../../src/monitoring/session-pool.js';
import { TRANSPORT_API_VERSION, TransportError } from '../../src/plugin/api.js';
import { CollectingCycle } from '../../src/service/monitoring-cycle.js';
import { MemoryAlertSink, MemorySampleSink } from '../../src/service/monitoring-sinks.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';
import { SPECS } from '../monitoring/specs.js';

/**
 * The service's monitoring step against the tests' real OpenSSH, on an injected clock: the real
 * disk.used_percent{mount=/} against a threshold below it fires once, stays open without a second
 * row, and resolves when the threshold is raised above it; one login serves every cycle.
 */
const ssh = createSshTransport({ apiVersion: TRANSPORT_API_VERSION, TransportError });
let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd();
  process.env.RMM_KNOWN_HOSTS_DIRS = sshd.dir;
});
afterAll(async () => {
  await sshd?.stop();
});

const logins = () => (readFileSync(sshd.logPath, 'utf8').match(/Accepted publickey/g) ?? []).length;

function device(): DeviceRecord {
  return {
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
  };
}

const disk = (threshold: number): EffectiveMonitor => ({
  policy: 'base',
  name: 'disk-root',
  metric: 'disk.used_percent',
  match: { mount: '/' },
  op: '>',
  threshold,
  forMs: 0,
  intervalMs: 60_000,
  severity: 'Warning',
  autoResolve: true,
});

describe('CollectingCycle', { timeout: 60_000 }, () => {
  it('fires on the real disk, once, resolves when the threshold moves above it; sessions kept', async () => {
    const clock = { time: Date.UTC(2026, 0, 1) };
    const now = () => clock.time;
    const pool = new SessionPool({
      transports: new Map([['ssh', ssh]]),
      credentials: { envPrefixes: ['RMM_'], dirs: [sshd.dir] },
      now,
    });
    let threshold = -1;
    const samples = new MemorySampleSink();
    const alerts = new MemoryAlertSink();
    const reached: boolean[] = [];
    const cycle = new CollectingCycle({
      pool,
      specs: SPECS,
      plan: () => ({ devices: [device()], monitors: new Map([['mon-1', [disk(threshold)]]]) }),
      samples,
      alerts,
      reachability: (r) => reached.push(...r.map((x) => x.reachable)),
      now,
    });
    const before = logins();
    const signal = new AbortController().signal;
    try {
      // The evaluator starts at the first cycle's time: its samples come after it.
      clock.time += 1;
      const first = await cycle.run(clock.time - 1, signal);
      expect(first).toMatchObject({ devices: 1, reached: 1, fired: 1, resolved: 0 });
      expect(alerts.transitions[0]).toMatchObject({
        kind: 'fire',
        key: { device: 'mon-1', policy: 'base', monitor: 'disk-root', instance: 'mount=/' },
        source: 'base/disk-root',
      });
      clock.time += 60_000;
      expect(await cycle.run(clock.time, signal)).toMatchObject({ fired: 0, resolved: 0 });
      threshold = 101;
      clock.time += 60_000;
      expect(await cycle.run(clock.time, signal)).toMatchObject({ fired: 0, resolved: 1 });
      expect(alerts.open()).toEqual([]);
      expect(cycle.intervalMs()).toBe(60_000);
      expect(samples.samples.filter((s) => s.metric === 'disk.used_percent')).toHaveLength(3);
      expect(samples.samples.filter((s) => s.metric === 'device.reachable').map((s) => s.value)).toEqual([
        1, 1, 1,
      ]);
      expect(reached).toEqual([true, true, true]);
      expect(logins() - before).toBe(1);
    } finally {
      await cycle.close();
    }
  });

  it("watches a device with no session by its queue's heartbeat: offline alert when it goes stale past the threshold, resolved when it comes back; never connected to", async () => {
    const clock = { time: Date.UTC(2026, 0, 1) };
    const now = () => clock.time;
    const pool = new SessionPool({
      transports: new Map([['ssh', ssh]]),
      credentials: { envPrefixes: ['RMM_'], dirs: [sshd.dir] },
      now,
    });
    let lastSeenAt: number | null = clock.time;
    const alerts = new MemoryAlertSink();
    const samples = new MemorySampleSink();
    const health: Array<[string, boolean]> = [];
    const cycle = new CollectingCycle({
      pool,
      specs: SPECS,
      plan: () => ({ devices: [], monitors: new Map(), heartbeats: [{ device: 'file-01', lastSeenAt }] }),
      samples,
      alerts,
      reachability: (r) => health.push(...r.map((x): [string, boolean] => [x.device, x.reachable])),
      now,
      offlineAfterMs: 5 * 60_000,
    });
    const signal = new AbortController().signal;
    const before = logins();
    const at = async (ms: number) => {
      clock.time = Date.UTC(2026, 0, 1) + ms;
      return cycle.run(clock.time, signal);
    };
    try {
      // The consumer stops: its heartbeat stays at minute 0, so it is stale from just after minute 3
      // (HEARTBEAT_STALE_MS) and the device-offline threshold (5 minutes) is held at minute 8. A cycle
      // a minute, as serve runs them.
      const reports = [];
      for (let minute = 0; minute <= 9; minute++) reports.push(await at(minute * 60_000 + 1));
      expect(reports[0]).toMatchObject({ devices: 1, reached: 1, unreachable: 0, fired: 0 });
      expect(reports.map((r) => r.reached)).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
      expect(reports.map((r) => r.fired)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
      expect(alerts.transitions.at(-1)).toMatchObject({ kind: 'fire', source: 'rmm/device-offline' });
      expect(alerts.transitions.at(-1)?.key).toMatchObject({ device: 'file-01' });
      // Fresh heartbeats say nothing to Devices (the queue pass set Online and LastSeen at the
      // heartbeat's own time); each stale cycle sets it Offline.
      expect(health).toEqual(Array(7).fill(['file-01', false]));
      lastSeenAt = Date.UTC(2026, 0, 1) + 10 * 60_000;
      expect(await at(10 * 60_000 + 1)).toMatchObject({ reached: 1, resolved: 1 });
      expect(alerts.open()).toEqual([]);
      expect(samples.samples.map((x) => x.value)).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
      lastSeenAt = null;
      expect(await at(11 * 60_000)).toMatchObject({ reached: 0, unreachable: 1 });
      expect(logins() - before).toBe(0);
    } finally {
      await cycle.close();
    }
  });
});
