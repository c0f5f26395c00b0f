import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueuedAction } from '../../src/plugin/api.js';
import { OutboxPublisher } from '../../src/relay/outbox-publisher.js';
import { openRelayStore, type RelayStore } from '../../src/relay/relay-store.js';
import { memoryLog } from '../../src/service/service-log.js';

/** The relay's store on a real SQLite file: records, recovery with the relay's words, the outbox. */
const T0 = Date.parse('2026-12-03T02:00:00.000Z');
const dirs: string[] = [];
const stores: RelayStore[] = [];

function dataDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-relay-store-'));
  dirs.push(dir);
  return path.join(dir, 'relay');
}

function open(dir: string, runner?: { pid: number; host: string }): RelayStore {
  const store = openRelayStore(dir, {
    actor: 'rmm relay relay-alpha',
    nowMs: T0,
    ...(runner ? { runner } : {}),
  });
  stores.push(store);
  return store;
}

function action(): QueuedAction {
  return {
    actionId: randomUUID(),
    type: 'exec',
    device: { name: 'web-01', host: '10.0.0.5', os: 'linux', transport: { type: 'ssh' } },
    command: 'uptime',
    timeoutMs: 300_000,
    connectTimeoutMs: 10_000,
    expiresAt: new Date(T0 + 60_000).toISOString(),
  };
}

afterEach(() => {
  for (const s of stores.splice(0)) if (s.db.open) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('openRelayStore', () => {
  it('makes its own private database with the console schema and RelayOutbox', () => {
    const dir = dataDir();
    const store = open(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['Actions', 'ActionLeases', 'RelayOutbox', 'AuditLog']));
  });

  it('records an ActionId Running with its started report once; a second start is refused', () => {
    const store = open(dataDir());
    const a = action();
    expect(store.known(a.actionId)).toEqual({ state: 'new' });
    expect(store.startMany([a], T0)).toEqual([true]);
    expect(store.startMany([a], T0)).toEqual([false]);
    expect(store.known(a.actionId)).toEqual({ state: 'running' });
    expect(store.unpublished(10)).toEqual([
      {
        ActionId: a.actionId,
        Kind: 'started',
        Body: JSON.stringify({ v: 1, kind: 'started', actionId: a.actionId, at: '2026-12-03T02:00:00.000Z' }),
      },
    ]);
  });

  it('ends what a killed relay left running as Failed in its own words, and owes its report', () => {
    const dir = dataDir();
    const dead = spawnSync('true').pid as number;
    const killed = open(dir, { pid: dead, host: os.hostname() });
    const a = action();
    expect(killed.startMany([a], T0)).toEqual([true]);
    killed.close();
    const restarted = open(dir);
    expect(restarted.recovered).toMatchObject([
      {
        id: a.actionId,
        status: 'Failed',
        error: 'the relay stopped while this ran; it may or may not have completed',
      },
    ]);
    expect(restarted.known(a.actionId)).toEqual({ state: 'final', status: 'Failed', report: 'unpublished' });
    const finished = restarted.unpublished(10).find((r) => r.Kind === 'finished');
    expect(JSON.parse(finished?.Body ?? '{}')).toMatchObject({
      kind: 'finished',
      actionId: a.actionId,
      status: 'Failed',
      error: 'the relay stopped while this ran; it may or may not have completed',
    });
  });

  it('builds the finished report of a row that ended without one (killed between the two writes)', () => {
    const dir = dataDir();
    const first = open(dir);
    const a = action();
    first.startMany([a], T0);
    first.actions.finish(a.actionId, 'web-01', 'exec', 'Succeeded', {
      exitCode: 0,
      stdout: 'up 3 days\n',
      durationMs: 7,
    });
    expect(first.known(a.actionId)).toMatchObject({ state: 'final', report: 'missing' });
    first.close();
    const second = open(dir);
    expect(JSON.parse(second.unpublished(10).find((r) => r.Kind === 'finished')?.Body ?? '{}')).toMatchObject(
      {
        status: 'Succeeded',
        exitCode: 0,
        stdout: 'up 3 days\n',
        stdoutDropped: 0,
        durationMs: 7,
      },
    );
  });
});

describe('OutboxPublisher', () => {
  it('marks a report published only after its PubAck, keeps the order, and sends again after a failure', async () => {
    const store = open(dataDir());
    const actions = [action(), action(), action()];
    store.startMany(actions, T0);
    const sent: string[] = [];
    // Fault injection: the second publish fails once (NATS away); the real-peer path is relay-faults.test.ts.
    let failures = 1;
    const log = memoryLog();
    const publisher = new OutboxPublisher({
      store,
      publish: async (_body, msgId) => {
        if (msgId === `${actions[1]?.actionId}.started` && failures-- > 0) throw new Error('no responders');
        sent.push(msgId);
      },
      msgId: (actionId, kind) => `${actionId}.${kind}`,
      now: () => T0 + 5,
      wait: async () => {},
      log,
    });
    expect(await publisher.publishOnce()).toBe(-1);
    expect(store.unpublished(10).map((r) => r.ActionId)).toEqual([actions[1]?.actionId]);
    expect(log.lines.map((l) => l.message)).toEqual([
      'cannot publish reports; they stay in the outbox and are sent again',
    ]);
    expect(await publisher.publishOnce()).toBe(1);
    expect(await publisher.publishOnce()).toBe(0);
    // The first batch sent the others; the failed one went with the next.
    expect(sent).toEqual([
      `${actions[0]?.actionId}.started`,
      `${actions[2]?.actionId}.started`,
      `${actions[1]?.actionId}.started`,
    ]);
    expect(
      store.db
        .prepare('SELECT count(*) FROM RelayOutbox WHERE PublishedAt = ?')
        .pluck()
        .get(T0 + 5),
    ).toBe(3);
  });
});
