import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/actions/recover.js';
import { isRmmError } from '../../src/errors.js';
import {
  LEASE_STALE_MS,
  type LeaseRow,
  leaseVerdict,
  readLease,
  serviceLease,
} from '../../src/service/service-lease.js';
import { consoleDb, ME } from './helpers.js';

/** One rmm serve per database: the ServiceLease row, its verdicts and its takeovers. */
const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-serve-lease-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const NOW = Date.UTC(2026, 0, 1);

const row = (over: Partial<LeaseRow>): LeaseRow => ({
  Pid: 4242,
  Host: ME.host,
  StartedAt: NOW - 3_600_000,
  HeartbeatAt: NOW - 1_000,
  StoppedAt: null,
  LastCycleAt: null,
  LastCycleMs: null,
  LastCycle: null,
  ...over,
});

async function deadPid(): Promise<number> {
  const child = execa('true');
  await child;
  return child.pid as number;
}

describe('leaseVerdict', () => {
  const alive = (pid: number) => pid === 4242;
  it.each([
    ['no row', undefined, 'free'],
    ['a stopped holder', row({ StoppedAt: NOW - 5 }), 'free'],
    ['a live pid on this host', row({}), 'held'],
    ['a dead pid on this host', row({ Pid: 999 }), 'stale'],
    ['our own pid (reused after a crash)', row({ Pid: ME.pid }), 'stale'],
    ['another host, recent heartbeat', row({ Host: 'elsewhere', Pid: 999 }), 'held'],
    [
      'another host, silent past the limit',
      row({ Host: 'elsewhere', HeartbeatAt: NOW - LEASE_STALE_MS - 1 }),
      'stale',
    ],
    ['this host, live pid, silent past the limit', row({ HeartbeatAt: NOW - LEASE_STALE_MS - 1 }), 'stale'],
  ])('%s: %s', (_, given, kind) => {
    expect(leaseVerdict(given, ME, NOW, alive).kind).toBe(kind);
  });
});

describe('serviceLease', () => {
  it('refuses a second holder while the first lives, naming its pid and host (exit 3)', () => {
    const db = consoleDb(dir, `l${++counter}`);
    const other = { pid: process.ppid, host: ME.host };
    serviceLease(db, other, isAlive).acquire(NOW);
    let error: unknown;
    try {
      serviceLease(db, ME, isAlive).acquire(NOW + 1000);
    } catch (e) {
      error = e;
    }
    expect(isRmmError(error) && error.exitCode).toBe(3);
    expect((error as Error).message).toContain(`pid ${process.ppid} on ${ME.host}`);
    expect(readLease(db)).toMatchObject({ Pid: process.ppid, StoppedAt: null });
    db.close();
  });

  it('takes over from a holder that died, saying why, and the old holder loses it', async () => {
    const db = consoleDb(dir, `l${++counter}`);
    const dead = { pid: await deadPid(), host: ME.host };
    const old = serviceLease(db, dead, isAlive);
    old.acquire(NOW);
    const mine = serviceLease(db, ME, isAlive);
    expect(mine.acquire(NOW + 1000)).toBe(
      `rmm serve (pid ${dead.pid} on ${ME.host}) is not running any more`,
    );
    expect(old.heartbeat(NOW + 2000)).toBe(false);
    expect(mine.heartbeat(NOW + 2000)).toBe(true);
    expect(readLease(db)).toMatchObject({ Pid: ME.pid, StartedAt: NOW + 1000, HeartbeatAt: NOW + 2000 });
    db.close();
  });

  it('records the last cycle, and release leaves it for rmm status with the lease free', () => {
    const db = consoleDb(dir, `l${++counter}`);
    const lease = serviceLease(db, ME, isAlive);
    expect(lease.acquire(NOW)).toBeUndefined();
    lease.recordCycle(NOW + 70_000, { at: NOW + 60_000, ms: 1234.4, report: { devices: 3 } });
    expect(lease.release(NOW + 80_000)).toBe(true);
    expect(readLease(db)).toMatchObject({
      StoppedAt: NOW + 80_000,
      LastCycleAt: NOW + 60_000,
      LastCycleMs: 1234,
      LastCycle: '{"devices":3}',
    });
    expect(
      serviceLease(db, { pid: process.ppid, host: ME.host }, isAlive).acquire(NOW + 90_000),
    ).toBeUndefined();
    db.close();
  });
});
