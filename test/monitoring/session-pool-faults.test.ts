import { describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../src/actions/targets.js';
import { type CollectTarget, collectRound } from '../../src/monitoring/collect-round.js';
import { SessionPool } from '../../src/monitoring/session-pool.js';
import type { ExecResult, Session, Transport } from '../../src/plugin/api.js';
import { TransportError } from '../../src/plugin/api.js';
import { SPECS } from './specs.js';

// Fault injection beside the real-sshd tests (session-pool.test.ts): a transport that hangs, fails
// or misbehaves on cue, which no real peer does on demand. Deadlines are signals the test aborts:
// nothing here waits on a timer.

const OUTPUT = '#rmm-metrics 1\ndisk.used_percent\tmount=/\t42\n#end\n';

interface Script {
  connect?: (name: string) => Promise<void> | void;
  exec?: (name: string) => Promise<ExecResult> | ExecResult;
  close?: () => Promise<void>;
}

function fakeTransport(script: Script, batchSize = 200) {
  const log = { connects: 0, closes: 0, active: 0, maxActive: 0, execs: 0, maxExecsPerSession: 0 };
  const transport: Transport = {
    apiVersion: 1,
    name: 'fake',
    description: 'fault injection',
    optionsSchema: { type: 'object' },
    defaultPort: 1,
    batchSize,
    capabilities: { powershell: false, fileTransfer: false, queued: false },
    async connect(target) {
      log.connects++;
      log.active++;
      log.maxActive = Math.max(log.maxActive, log.active);
      try {
        await script.connect?.(target.name);
      } catch (error) {
        log.active--;
        throw error;
      }
      let running = 0;
      const session: Session = {
        async exec() {
          running++;
          log.execs++;
          log.maxExecsPerSession = Math.max(log.maxExecsPerSession, running);
          try {
            return await (script.exec?.(target.name) ?? ok(OUTPUT));
          } finally {
            running--;
            log.active--;
          }
        },
        async putFile() {},
        async fetchFile() {},
        async close() {
          log.closes++;
          await script.close?.();
        },
      };
      return session;
    },
  };
  return { transport, log };
}

function ok(stdout: string): ExecResult {
  return { exitCode: 0, stdout: Buffer.from(stdout), stderr: Buffer.alloc(0) };
}

function device(name: string, transport: Record<string, unknown> = {}): DeviceRecord {
  return {
    name,
    host: '192.0.2.1',
    os: 'linux',
    site: 's',
    groups: [],
    labels: {},
    transport: { type: 'fake', ...transport },
  };
}

const target = (d: DeviceRecord): CollectTarget => ({
  device: d,
  request: { metrics: [{ metric: 'disk.used_percent', instances: ['/'] }] },
  measures: { reachable: false, ports: [] },
});

/** A pool on an injected clock, and a round whose per-device deadlines the test aborts by name. */
function setup(transport: Transport, poolOptions: { closeTimeoutMs?: number } = {}) {
  const clock = { time: 1_000_000 };
  const pool = new SessionPool({
    transports: new Map([['fake', transport]]),
    credentials: { envPrefixes: ['RMM_'], dirs: [] },
    now: () => clock.time,
    random: () => 0,
    backoff: { firstMs: 1000, maxMs: 8000 },
    ...poolOptions,
  });
  const deadlines: AbortController[] = [];
  const round = (list: DeviceRecord[], concurrency = 10) =>
    collectRound(list.map(target), {
      pool,
      specs: SPECS,
      now: () => clock.time,
      concurrency,
      deviceTimeoutMs: 1,
      deadline: () => {
        const controller = new AbortController();
        deadlines.push(controller);
        return controller.signal;
      },
    });
  const expire = () => {
    for (const controller of deadlines) controller.abort(new Error('the device ran out of time'));
  };
  return { clock, pool, round, expire };
}

const never = <T>() => new Promise<T>(() => {});

describe('the session pool under injected faults', () => {
  it('a connect that never returns: that device unreachable at its deadline, the others collected, the late session closed', async () => {
    let late: (() => void) | undefined;
    let expire = () => {};
    const { transport, log } = fakeTransport({
      connect: (name) => {
        if (name !== 'slow') return;
        expire();
        return new Promise<void>((resolve) => {
          late = resolve;
        });
      },
    });
    const s = setup(transport);
    // Only the slow device's deadline passes: it is the one connecting when expire() runs.
    expire = () => s.expire();
    const result = await s.round([device('fast'), device('slow')], 1);
    expect(result.reachability.map((r) => [r.device, r.reachable])).toEqual([
      ['fast', true],
      ['slow', false],
    ]);
    expect(result.reachability[1]?.error).toMatch(/not connected in time: the device ran out of time/);
    expect(result.samples.map((x) => x.device)).toEqual(['fast']);
    late?.();
    await new Promise((r) => setImmediate(r));
    expect(log.closes).toBe(1);
    expect(s.pool.stats().open).toBe(1);
  });

  it('a command that never returns: the device is reachable, warned about, and its session dropped for a new one', async () => {
    let hang = true;
    let expire = () => {};
    const { transport, log } = fakeTransport({
      exec: () => {
        if (!hang) return ok(OUTPUT);
        expire();
        return never();
      },
    });
    const s = setup(transport);
    expire = () => s.expire();
    const first = await s.round([device('stuck')]);
    expect(first.reachability).toMatchObject([{ device: 'stuck', reachable: true }]);
    expect(first.warnings).toMatchObject([
      { device: 'stuck', message: expect.stringMatching(/did not answer: no answer in time/) },
    ]);
    expect(log.closes).toBe(1);
    hang = false;
    const second = await s.round([device('stuck')]);
    expect(second.samples).toHaveLength(1);
    expect(log.connects).toBe(2);
  });

  it('a connection lost during the command: unreachable, then the backoff; another failure keeps the session', async () => {
    let failure: Error | undefined = new TransportError('unreachable', 'lost', { commandSent: true });
    const { transport, log } = fakeTransport({
      exec: () => {
        const error = failure;
        failure = undefined;
        if (error) throw error;
        return ok(OUTPUT);
      },
    });
    const s = setup(transport);
    const lost = await s.round([device('d')]);
    expect(lost.reachability).toMatchObject([{ reachable: false, error: 'lost', since: 1_000_000 }]);
    // random 0: the first pause is half of 1 s.
    s.clock.time += 499;
    const waiting = await s.round([device('d')]);
    expect(waiting.reachability).toMatchObject([{ reachable: false, since: 1_000_000 }]);
    expect(log.connects).toBe(1);
    s.clock.time += 1;
    expect((await s.round([device('d')])).reachability).toMatchObject([{ reachable: true }]);
    expect(log.connects).toBe(2);
    failure = new TransportError('protocol', 'the server refused the channel');
    const refused = await s.round([device('d')]);
    expect(refused.reachability).toMatchObject([{ reachable: true }]);
    expect(refused.warnings[0]?.message).toMatch(/refused the channel/);
    await s.round([device('d')]);
    expect(log.connects).toBe(2);
  });

  it('holds each transport to its batch size, and never runs two commands at once on one session', async () => {
    const gates: Array<() => void> = [];
    const { transport, log } = fakeTransport(
      { exec: () => new Promise<ExecResult>((resolve) => gates.push(() => resolve(ok(OUTPUT)))) },
      2,
    );
    const s = setup(transport);
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const running = s.round(
      names.map((n) => device(n)),
      6,
    );
    // Bounded: each pass lets the commands started so far finish.
    for (let i = 0; i < 100 && log.execs < names.length; i++) {
      await new Promise((r) => setImmediate(r));
      for (const open of gates.splice(0)) open();
    }
    const result = await running;
    expect(result.reachability.every((r) => r.reachable)).toBe(true);
    expect(log.maxActive).toBe(2);

    const twice = await Promise.all(
      [1, 2, 3].map(() =>
        s.pool.use(device('a'), new AbortController().signal, async (session) => {
          const done = session.exec('x');
          await new Promise((r) => setImmediate(r));
          for (const open of gates.splice(0)) open();
          return done;
        }),
      ),
    );
    expect(twice.map((o) => o.kind)).toEqual(['done', 'done', 'done']);
    expect(log.maxExecsPerSession).toBe(1);
  });

  it('refuses a credential reference the console does not allow, before connecting, without reading it', async () => {
    const { transport, log } = fakeTransport({});
    const s = setup(transport);
    const result = await s.round([device('d', { credentialRef: 'env:HOME' })]);
    expect(result.reachability[0]).toMatchObject({ reachable: false });
    expect(result.reachability[0]?.error).toMatch(/credential env:HOME: refused/);
    expect(result.reachability[0]?.error).not.toContain(process.env.HOME ?? '/');
    expect(log.connects).toBe(0);
  });

  it('reads hostile output as warnings, never a crash', async () => {
    const { transport } = fakeTransport({
      exec: () => ok('#rmm-metrics 1\ndisk.used_percent\tmount=/\t1e309\ncpu.percent\t\tNaN\n#end\n'),
    });
    const s = setup(transport);
    const result = await s.round([device('d')]);
    expect(result.samples).toEqual([]);
    expect(result.reachability).toMatchObject([{ reachable: true }]);
    expect(result.warnings.map((w) => w.message).join('\n')).toMatch(/1e309/);
  });

  it('shuts down within its bound when a close never settles, and refuses work after', async () => {
    const { transport } = fakeTransport({ close: never });
    const s = setup(transport, { closeTimeoutMs: 1 });
    await s.round([device('d')]);
    await s.pool.close();
    const after = await s.round([device('d')]);
    expect(after.reachability).toEqual([]);
    expect(after.warnings[0]?.message).toMatch(/the session pool is closed/);
  });
});
