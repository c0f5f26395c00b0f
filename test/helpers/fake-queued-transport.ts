import { EventEmitter } from 'node:events';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type {
  QueueConnection,
  QueuedAction,
  QueuedReport,
  QueuedTransport,
  QueueRoute,
  ReceivedReport,
  SubmitOutcome,
  Transport,
} from '../../src/plugin/api.js';

/**
 * A queued transport for fault injection and for the conformance kit's self-test (the real relay
 * runs the kit with NATS). Its queue is a folder, so it outlives a process killed with SIGKILL:
 * `<dir>/<route>/work/<actionId>.json` is a queued action (created exclusively: the same ActionId
 * twice is one message), `taken/` what the far side took, `started/` the ids it ever started (never
 * started twice), `reports/` what it reported, deleted when acked. The far side runs each command
 * with sh on this machine, one at a time, when drained (or at once while started).
 */
export interface FakeQueueOptions {
  dir: string;
  /** A submit whose outcome never comes, after the messages are queued (a crash between). */
  hangAfterQueue?: boolean;
  /** A refusal for an action, or undefined to accept it. */
  refuse?: (action: QueuedAction) => string | undefined;
  /** open() fails with this message. */
  openFails?: string;
  /** Each open() is recorded here: the route, its options, the secret as text, the stateDir. */
  opened?: Array<{
    route: string;
    options: Record<string, unknown>;
    secret?: string;
    stateDir?: string;
    device?: QueueRoute['device'];
  }>;
  /** At most this many reports per fetch, whatever the caller asks: a queue whose reports trickle in. */
  perFetch?: number;
}

/** Bytes of stdout and of stderr the far side keeps (the rest is counted). */
export const FAKE_OUTPUT_CAP = 256 * 1024;

const bus = new EventEmitter().setMaxListeners(0);
let sequence = 0;

function routeDir(dir: string, route: string, sub: string): string {
  const where = path.join(dir, route, sub);
  mkdirSync(where, { recursive: true });
  return where;
}

export function writeReport(dir: string, route: string, body: QueuedReport | string): void {
  const name = `${Date.now().toString().padStart(15, '0')}-${process.pid}-${String(sequence++).padStart(8, '0')}.json`;
  writeFileSync(
    path.join(routeDir(dir, route, 'reports'), name),
    typeof body === 'string' ? body : JSON.stringify(body),
  );
  bus.emit(`${dir}/${route}`);
}

export function fakeQueuedTransport(options: FakeQueueOptions): Transport {
  const queue: QueuedTransport = {
    // Tests use it both ways: as a device's own type and behind a declared route (device.queue).
    routes: 'device',
    async open(route, how) {
      if (options.openFails) throw new Error(options.openFails);
      options.opened?.push({
        route: route.name,
        options: route.options,
        ...(how.secret ? { secret: how.secret.revealText() } : {}),
        ...(how.stateDir ? { stateDir: how.stateDir } : {}),
        ...(route.device ? { device: route.device } : {}),
      });
      return fakeConnection(options, route.name);
    },
  };
  return {
    apiVersion: 1,
    name: 'fakequeue',
    description: 'A folder-backed queue whose far side runs sh locally (tests only).',
    optionsSchema: {
      type: 'object',
      additionalProperties: false,
      properties: { region: { type: 'string' } },
    },
    defaultPort: 0,
    batchSize: 1000,
    capabilities: { powershell: false, fileTransfer: false, queued: true },
    connect: async () => {
      throw new Error('fakequeue runs nothing directly');
    },
    queue,
  } as Transport;
}

function fakeConnection(options: FakeQueueOptions, route: string): QueueConnection {
  const { dir } = options;
  const leased = new Set<string>();
  const work = routeDir(dir, route, 'work');
  const taken = routeDir(dir, route, 'taken');
  const reports = routeDir(dir, route, 'reports');
  return {
    async submit(actions, how) {
      const outcomes: SubmitOutcome[] = actions.map((action) => {
        const refused = options.refuse?.(action);
        if (refused) return { actionId: action.actionId, accepted: false, error: refused };
        const file = path.join(work, `${action.actionId}.json`);
        if (!existsSync(file) && !existsSync(path.join(taken, `${action.actionId}.json`)))
          writeFileSync(file, JSON.stringify(action), { flag: 'wx' });
        return { actionId: action.actionId, accepted: true, receipt: action.actionId };
      });
      bus.emit(`${dir}/${route}:work`);
      // Hangs until the caller gives up (its signal), like a queue whose acceptance never comes.
      if (options.hangAfterQueue)
        await new Promise((_, reject) => {
          const signal = how?.signal;
          if (signal?.aborted) return reject(signal.reason);
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      return outcomes;
    },
    async fetch({ max, waitMs }) {
      const ready = () =>
        readdirSync(reports)
          .sort()
          .filter((f) => !leased.has(f))
          .slice(0, Math.min(max, options.perFetch ?? max));
      let files = ready();
      if (files.length === 0 && waitMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, waitMs);
          function done() {
            clearTimeout(timer);
            bus.off(`${dir}/${route}`, done);
            resolve();
          }
          bus.on(`${dir}/${route}`, done);
        });
        files = ready();
      }
      return files.map((file): ReceivedReport => {
        leased.add(file);
        return { report: parseReport(readFileSync(path.join(reports, file), 'utf8')), handle: file };
      });
    },
    async ack(received) {
      for (const r of received) {
        rmSync(path.join(reports, r.handle as string), { force: true });
        leased.delete(r.handle as string);
      }
    },
    async cancel(actionId) {
      try {
        unlinkSync(path.join(work, `${actionId}.json`));
        return 'withdrawn';
      } catch {
        return existsSync(path.join(taken, `${actionId}.json`)) ? 'too-late' : 'unknown';
      }
    },
    async close() {
      leased.clear();
    },
  };
}

function parseReport(text: string): QueuedReport {
  try {
    const value = JSON.parse(text) as QueuedReport;
    if (!value || typeof value !== 'object' || !['started', 'finished', 'heartbeat'].includes(value.kind))
      return { kind: 'invalid', at: new Date().toISOString(), problem: 'not a known report' };
    return value;
  } catch {
    return { kind: 'invalid', at: new Date().toISOString(), problem: 'not JSON' };
  }
}

/** The far side of a route: takes queued actions and runs them locally, once per ActionId. */
export function fakeFarSide(dir: string, route: string, clock: () => number = Date.now) {
  const work = routeDir(dir, route, 'work');
  const taken = routeDir(dir, route, 'taken');
  const started = routeDir(dir, route, 'started');
  let running = false;
  let draining: Promise<void> = Promise.resolve();
  const onWork = () => {
    draining = draining.then(drain);
  };
  const cap = (text: string) => {
    const bytes = Buffer.from(text);
    return bytes.length <= FAKE_OUTPUT_CAP
      ? { text, dropped: 0 }
      : {
          text: bytes.subarray(0, FAKE_OUTPUT_CAP).toString('utf8'),
          dropped: bytes.length - FAKE_OUTPUT_CAP,
        };
  };
  async function drain(): Promise<void> {
    for (const file of readdirSync(work).sort()) {
      try {
        renameSync(path.join(work, file), path.join(taken, file));
      } catch {
        continue; // withdrawn meanwhile
      }
      const action = JSON.parse(readFileSync(path.join(taken, file), 'utf8')) as QueuedAction;
      const at = () => new Date(clock()).toISOString();
      const mark = path.join(started, action.actionId);
      if (existsSync(mark)) continue; // never started twice
      if (Date.parse(action.expiresAt) <= clock()) {
        writeReport(dir, route, {
          kind: 'finished',
          actionId: action.actionId,
          at: at(),
          status: 'Expired',
          error: 'expired before it started',
          durationMs: 0,
        });
        continue;
      }
      writeFileSync(mark, '', { flag: 'wx' });
      writeReport(dir, route, { kind: 'started', actionId: action.actionId, at: at() });
      const t0 = performance.now();
      // The command can name itself: the tests' record of what ran is its ActionId, once per run.
      const result = await execa('sh', ['-c', action.command], {
        env: { RMM_ACTION_ID: action.actionId, RMM_DEVICE: action.device.name },
        reject: false,
        stripFinalNewline: false,
        timeout: action.timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      });
      const stdout = cap(String(result.stdout ?? ''));
      const stderr = cap(String(result.stderr ?? ''));
      writeReport(dir, route, {
        kind: 'finished',
        actionId: action.actionId,
        at: at(),
        status: result.timedOut ? 'TimedOut' : result.exitCode === 0 ? 'Succeeded' : 'Failed',
        exitCode: result.exitCode ?? -1,
        stdout: stdout.text,
        stderr: stderr.text,
        ...(stdout.dropped ? { stdoutDropped: stdout.dropped } : {}),
        ...(stderr.dropped ? { stderrDropped: stderr.dropped } : {}),
        durationMs: Math.round(performance.now() - t0),
      });
    }
  }
  return {
    /** Runs what is queued now; resolves when done. */
    drain: () => {
      draining = draining.then(drain);
      return draining;
    },
    start: async () => {
      if (!running) bus.on(`${dir}/${route}:work`, onWork);
      running = true;
      writeReport(dir, route, {
        kind: 'heartbeat',
        at: new Date(clock()).toISOString(),
        detail: { version: 'fake' },
      });
      onWork();
      await draining;
    },
    stop: async () => {
      bus.off(`${dir}/${route}:work`, onWork);
      running = false;
      await draining;
    },
    idle: () => draining,
  };
}
