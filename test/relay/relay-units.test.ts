import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { credentialPolicy } from '../../src/credentials/policy.js';
import { DeviceLanes } from '../../src/relay/device-lanes.js';
import { jobOf } from '../../src/relay/executor.js';
import { GroupCommit } from '../../src/relay/group-commit.js';
import { decideIntake, isExpired } from '../../src/relay/intake.js';
import type { Known } from '../../src/relay/relay-store.js';
import { capText, finishedReport, MAX_REPORT_BYTES, reportMsgIds } from '../../src/relay/reports.js';
import { dueForWorking, heartbeatDue } from '../../src/relay/timing.js';
import { readWorkMessage } from '../../src/relay/work-message.js';

/** The relay's pure decisions, with the clock as an input. */
const policy = credentialPolicy('/relay-data', {});
const T0 = Date.parse('2026-12-03T02:00:00.000Z');

function work(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    actionId: randomUUID(),
    type: 'exec',
    device: { name: 'web-01', host: '10.0.0.5', os: 'linux', transport: { type: 'ssh', port: 22 } },
    command: 'uptime',
    timeoutMs: 300_000,
    connectTimeoutMs: 10_000,
    expiresAt: new Date(T0 + 60_000).toISOString(),
    ...overrides,
  };
}
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const read = (value: unknown) => readWorkMessage(bytes(value), policy, undefined);

describe('readWorkMessage', () => {
  it('reads a message as the design note writes it, without v', () => {
    const message = work({
      device: {
        name: 'web-01',
        host: '10.0.0.5',
        os: 'linux',
        transport: { type: 'ssh', port: 22, user: 'rmm', credentialRef: 'file:/relay-data/credentials/id' },
      },
    });
    const result = readWorkMessage(bytes(message), policy, String(message.actionId));
    expect(result).toEqual({ ok: true, action: { ...(({ v: _v, ...rest }) => rest)(message) } });
  });

  it.each([
    ['not JSON', Buffer.from('{'), /^not JSON$/],
    ['over the size limit', Buffer.alloc(262_145, 32), /262145 bytes, over the limit of 262144/],
    ['v 2', bytes(work({ v: 2 })), /^v must be equal to constant/],
    ['an unknown type', bytes(work({ type: 'reboot' })), /^type must be equal to one of/],
    [
      'no command',
      bytes((({ command: _c, ...rest }) => rest)(work())),
      /must have required property 'command'/,
    ],
    ['an unknown key', bytes(work({ extra: 1 })), /must NOT have additional properties \(extra\)/],
    ['a negative timeout', bytes(work({ timeoutMs: -1 })), /^timeoutMs must be >= 1/],
    ['a time that is not ISO', bytes(work({ expiresAt: 'tomorrow' })), /expiresAt is not an ISO 8601 time/],
  ])('refuses %s', (_what, message, problem) => {
    const result = readWorkMessage(message, policy, undefined);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toMatch(problem);
  });

  it('names the ActionId of a refused message when it has a well-formed one, so the console is told', () => {
    const message = work({ v: 2 });
    expect(read(message)).toMatchObject({ ok: false, actionId: message.actionId });
    expect(read({ v: 2, actionId: 'not-a-uuid' })).not.toHaveProperty('actionId');
  });

  it('refuses a message whose Nats-Msg-Id is not its ActionId', () => {
    expect(readWorkMessage(bytes(work()), policy, randomUUID())).toMatchObject({
      ok: false,
      problem: 'its Nats-Msg-Id is not its actionId',
    });
  });

  it.each([
    ['an inline password', { password: 'hunter2' }, /device\.transport\.password would carry a secret/],
    ['a private key', { privateKey: 'hunter2' }, /device\.transport\.privateKey would carry a secret/],
    ['a secret as the reference', { credentialRef: 'hunter2' }, /neither env:NAME nor file:PATH \(not shown/],
    [
      'an env: reference outside the allow-list',
      { credentialRef: 'env:HOME' },
      /names an environment variable this relay does not allow/,
    ],
    [
      'a file: reference outside the allow-list',
      { credentialRef: 'file:/etc/shadow' },
      /names a file outside the folders this relay allows/,
    ],
  ])('refuses a transport block with %s, never quoting it', (_what, extra, problem) => {
    const result = read(work({ device: { name: 'd', host: 'h', transport: { type: 'ssh', ...extra } } }));
    expect(!result.ok && result.problem).toMatch(problem);
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });
});

describe('decideIntake', () => {
  const action = read(work());
  const id = action.ok ? action.action.actionId : '';
  const knows = (state: Known) => () => state;
  const nothingHeld = () => false;

  it.each<[string, Known, boolean, number, string]>([
    ['new work', { state: 'new' }, false, T0, 'queue'],
    ['new work past its expiry', { state: 'new' }, false, T0 + 60_000, 'expire'],
    ['work this relay holds (a redelivery)', { state: 'new' }, true, T0, 'hold'],
    ['work recorded and running', { state: 'running' }, false, T0, 'hold'],
    [
      'work that ended here',
      { state: 'final', status: 'Succeeded', report: 'published' },
      false,
      T0,
      'settled',
    ],
    [
      'ended work, even past its expiry',
      { state: 'final', status: 'Failed', report: 'missing' },
      false,
      T0 + 1e9,
      'settled',
    ],
  ])('%s: %s', (_what, known, held, now, kind) => {
    expect(decideIntake(action, knows(known), () => held, now).kind).toBe(kind);
  });

  it('refuses an unreadable message, with a report only for an ActionId it has never seen', () => {
    const bad = read(work({ v: 2 }));
    expect(decideIntake(bad, knows({ state: 'new' }), nothingHeld, T0)).toMatchObject({
      kind: 'refuse',
      reportFor: expect.any(String),
    });
    const seen = decideIntake(bad, knows({ state: 'running' }), nothingHeld, T0);
    expect(seen).toMatchObject({ kind: 'refuse' });
    expect(seen).not.toHaveProperty('reportFor');
    expect(id).not.toBe('');
  });

  it('expires at expiresAt by the injected clock, not a millisecond before', () => {
    const expiresAt = new Date(T0).toISOString();
    expect(isExpired({ expiresAt }, T0 - 1)).toBe(false);
    expect(isExpired({ expiresAt }, T0)).toBe(true);
  });
});

describe('DeviceLanes', () => {
  const item = (id: string, device: string, transport = 'ssh') => ({ id, device, transport });

  it('runs one action per device at a time, first come first served, the others meanwhile', () => {
    const lanes = new DeviceLanes(() => 10);
    for (const i of [item('a1', 'a'), item('a2', 'a'), item('b1', 'b'), item('a3', 'a')]) lanes.add(i);
    expect(lanes.next()?.id).toBe('a1');
    expect(lanes.next()?.id).toBe('b1');
    expect(lanes.next()).toBeUndefined();
    expect({ running: lanes.running, waiting: lanes.waitingCount }).toEqual({ running: 2, waiting: 2 });
    lanes.done(item('a1', 'a'));
    expect(lanes.next()?.id).toBe('a2');
    expect(lanes.next()).toBeUndefined();
  });

  it('keeps each transport within its window', () => {
    const lanes = new DeviceLanes((transport) => (transport === 'winrm' ? 1 : 2));
    for (const i of [
      item('1', 'd1'),
      item('2', 'd2'),
      item('3', 'd3'),
      item('4', 'w1', 'winrm'),
      item('5', 'w2', 'winrm'),
    ])
      lanes.add(i);
    const started = [lanes.next(), lanes.next(), lanes.next(), lanes.next()].map((i) => i?.id);
    expect(started).toEqual(['1', '2', '4', undefined]);
    lanes.done(item('4', 'w1', 'winrm'));
    expect(lanes.next()?.id).toBe('5');
    expect(lanes.drainWaiting().map((i) => i.id)).toEqual(['3']);
  });
});

describe('timing', () => {
  it('a heartbeat is due at once, then every 30 s', () => {
    expect(heartbeatDue(undefined, T0)).toBe(true);
    expect(heartbeatDue(T0, T0 + 29_999)).toBe(false);
    expect(heartbeatDue(T0, T0 + 30_000)).toBe(true);
  });

  it('a held message gets working() once its ack timer is 20 s old', () => {
    const held = [
      { id: 'fresh', touchedMs: T0 - 19_999 },
      { id: 'old', touchedMs: T0 - 20_000 },
    ];
    expect(dueForWorking(held, T0).map((h) => h.id)).toEqual(['old']);
  });
});

describe('reports', () => {
  it('caps output at 256 KiB without splitting a character, counting the rest', () => {
    const text = `${'a'.repeat(256 * 1024 - 1)}é and more`;
    const capped = capText(Buffer.from(text));
    expect(capped.text).toBe('a'.repeat(256 * 1024 - 1));
    expect(capped.dropped).toBe(Buffer.byteLength(text) - (256 * 1024 - 1));
  });

  it('keeps a finished report under the results stream limit when escaping grows the output', () => {
    const control = '\u0001'.repeat(256 * 1024);
    const body = finishedReport(randomUUID(), T0, {
      status: 'Succeeded',
      exitCode: 0,
      stdout: { text: control, dropped: 0 },
      stderr: { text: control, dropped: 5 },
      durationMs: 12,
    });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_REPORT_BYTES);
    const parsed = JSON.parse(body);
    expect(parsed.stdout.length + parsed.stdoutDropped).toBe(256 * 1024);
    expect(parsed.stderrDropped).toBeGreaterThan(5);
  });
});

describe('reportMsgIds', () => {
  it('is the same at every try, and no one without the password can compute it', () => {
    const id = randomUUID();
    const alpha = reportMsgIds('alpha-password');
    expect(alpha(id, 'finished')).toBe(reportMsgIds('alpha-password')(id, 'finished'));
    expect(alpha(id, 'finished')).toMatch(new RegExp(`^${id}\\.finished\\.[A-Za-z0-9_-]{22}$`));
    expect(alpha(id, 'started')).not.toBe(alpha(id, 'finished').replace('.finished.', '.started.'));
    expect(reportMsgIds('beta-password')(id, 'finished')).not.toBe(alpha(id, 'finished'));
  });
});

describe('GroupCommit', () => {
  it('writes what arrives in one turn in one call, up to its batch size, and answers each caller', async () => {
    const calls: number[][] = [];
    const commit = new GroupCommit((items: readonly number[]) => {
      calls.push([...items]);
      return items.map((i) => i * 10);
    }, 3);
    const answers = await Promise.all([1, 2, 3, 4, 5].map((i) => commit.add(i)));
    expect(answers).toEqual([10, 20, 30, 40, 50]);
    expect(calls).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('fails every caller of a write that threw, and goes on with the next', async () => {
    let fail = true;
    const commit = new GroupCommit((items: readonly string[]) => {
      if (fail) throw new Error('database is locked');
      return items.map(() => true);
    });
    const failed = await Promise.allSettled([commit.add('a'), commit.add('b')]);
    expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await commit.add('c')).toBe(true);
  });
});

describe('jobOf', () => {
  const queued = (os: 'linux' | 'windows', powershell: boolean) => {
    const result = read(
      work({ powershell, device: { name: 'w', host: 'h', os, transport: { type: 'ssh' } } }),
    );
    if (!result.ok) throw new Error(result.problem);
    return result.action;
  };

  it('sends a PowerShell action to a Windows device as -EncodedCommand, as rmm exec does', () => {
    const job = jobOf(queued('windows', true));
    expect(job.command).toMatch(/^powershell .*-EncodedCommand /);
    expect(job.powershell).toBe(true);
    expect(job.problem).toBeUndefined();
  });

  it('fails a PowerShell action for a device that is not Windows, before connecting', () => {
    expect(jobOf(queued('linux', true)).problem).toBe(
      'a PowerShell action needs a Windows device; w is linux',
    );
    expect(jobOf(queued('linux', false))).toMatchObject({ command: 'uptime', timeoutMs: 300_000 });
  });
});
