import { describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../src/actions/targets.js';
import type { Group } from '../../src/engine/blast-radius.js';
import type { ResolvedMonitor } from '../../src/monitoring/effective-monitors.js';
import { evaluatorMonitor } from '../../src/monitoring/evaluator-monitor.js';
import type { Monitor, PolicySpec } from '../../src/resources/kinds.js';
import { fleetMonitors, policySpecOf } from '../../src/service/fleet-monitors.js';

/** A resolved monitor to the evaluator's shape, and a fleet's effective monitors at one revision. */
const resolved = (monitor: Record<string, unknown>, interval = '1m'): ResolvedMonitor => ({
  policy: 'base',
  level: 'group',
  holder: 'servers',
  via: ['servers'],
  above: [],
  series: 'x',
  changed: {},
  interval,
  monitor: {
    name: 'disk-root',
    metric: 'disk.used_percent',
    match: { mount: '/' },
    when: { op: '>', value: 90, for: '5m' },
    severity: 'Warning',
    ...monitor,
  } as Monitor,
});

describe('evaluatorMonitor', () => {
  it.each([
    ['the policy or monitor interval and for, in ms', {}, '30s', { intervalMs: 30_000, forMs: 300_000 }],
    ['no for: fires on the first sample', { when: { op: '>', value: 90 } }, '1m', { forMs: 0 }],
    ['autoResolve only when it says true', { autoResolve: true }, '1m', { autoResolve: true }],
    ['autoResolve absent is false', {}, '1m', { autoResolve: false }],
    ['no match watches every instance', { match: undefined }, '1m', { match: {} }],
  ])('%s', (_, monitor, interval, expected) => {
    expect(evaluatorMonitor(resolved(monitor, interval))).toMatchObject(expected);
  });

  it('maps every field', () => {
    expect(evaluatorMonitor(resolved({ autoResolve: true }))).toEqual({
      policy: 'base',
      name: 'disk-root',
      metric: 'disk.used_percent',
      match: { mount: '/' },
      op: '>',
      threshold: 90,
      forMs: 300_000,
      intervalMs: 60_000,
      severity: 'Warning',
      autoResolve: true,
    });
  });

  it.each([
    ['an operator it does not know', { when: { op: '=>', value: 1 } }, '1m', /operator and a number/],
    ['a threshold that is not a number', { when: { op: '>', value: '90' } }, '1m', /operator and a number/],
    ['a for that is not a duration', { when: { op: '>', value: 1, for: 'soon' } }, '1m', /not a duration/],
    ['an interval that is not a duration', {}, '0m', /not a duration/],
    ['a severity of its own', { severity: 'Fatal' }, '1m', /severity/],
    ['no when', { when: undefined }, '1m', /not a monitor/],
  ])('refuses a hand-edited row with %s, naming policy and monitor', (_, monitor, interval, why) => {
    const out = evaluatorMonitor(resolved(monitor, interval));
    expect(out).toEqual({ problem: expect.stringMatching(why) });
    expect((out as { problem: string }).problem).toMatch(/^policy base: monitor disk-root: /);
  });
});

const device = (name: string, groups: string[]): DeviceRecord => ({
  name,
  host: name,
  os: 'linux',
  site: 'main',
  groups,
  labels: {},
  transport: { type: 'ssh' },
});
const group = (policy: string | null, parent: string | null = null): Group => ({
  parent,
  policy,
  site: null,
});
const cpu = (name: string, value: number) => ({
  name,
  metric: 'cpu.percent',
  when: { op: '>' as const, value },
  severity: 'Warning' as const,
});

describe('fleetMonitors', () => {
  it('gives each device its effective monitors, the more specific group winning, at the policy interval', () => {
    const groups = new Map([
      ['servers', group('baseline')],
      ['web', group('web', 'servers')],
    ]);
    const policies = new Map<string, PolicySpec>([
      ['baseline', { interval: '5m', monitors: [cpu('cpu', 90)] }],
      ['web', { monitors: [cpu('cpu', 80)] }],
    ]);
    const out = fleetMonitors(
      [device('a', ['servers']), device('b', ['web']), device('c', [])],
      groups,
      policies,
    );
    expect(out.problems).toEqual([]);
    expect(out.byDevice.get('a')).toEqual([
      expect.objectContaining({ policy: 'baseline', threshold: 90, intervalMs: 300_000 }),
    ]);
    expect(out.byDevice.get('b')).toEqual([
      expect.objectContaining({ policy: 'web', threshold: 80, intervalMs: 60_000 }),
    ]);
    expect(out.byDevice.has('c')).toBe(false);
  });

  it('a tie in rows edited by hand: both apply, reported once with how many devices have it', () => {
    const groups = new Map([
      ['web', group('web')],
      ['db', group('db')],
    ]);
    const policies = new Map<string, PolicySpec>([
      ['web', { monitors: [cpu('cpu', 80)] }],
      ['db', { monitors: [cpu('cpu', 60)] }],
    ]);
    const out = fleetMonitors([device('a', ['web', 'db']), device('b', ['web', 'db'])], groups, policies);
    expect(
      out.byDevice
        .get('a')
        ?.map((m) => m.policy)
        .sort(),
    ).toEqual(['db', 'web']);
    expect(out.problems).toEqual([
      'policies "web" (group web) and "db" (group db) both monitor cpu.percent: both apply (fix the rows with rmm apply); 2 devices',
    ]);
  });

  it("devices of one site and groups share one answer, but a device's own overrides are its alone", () => {
    const groups = new Map([
      ['web', { ...group('web'), overrides: [{ monitor: 'cpu', when: { value: 85 } }] }],
    ]);
    const policies = new Map<string, PolicySpec>([['web', { monitors: [cpu('cpu', 80)] }]]);
    const quiet = { ...device('b', ['web']), overrides: [{ monitor: 'cpu', disabled: true }] };
    const tuned = { ...device('c', ['web']), overrides: [{ monitor: 'cpu', when: { value: 99 } }] };
    const out = fleetMonitors([device('a', ['web']), quiet, tuned, device('d', ['web'])], groups, policies);
    expect(out.byDevice.get('a')?.map((m) => m.threshold)).toEqual([85]);
    expect(out.byDevice.has('b')).toBe(false);
    expect(out.byDevice.get('c')?.map((m) => m.threshold)).toEqual([99]);
    expect(out.byDevice.get('d')).toBe(out.byDevice.get('a'));
  });

  it('leaves out a monitor it cannot read, once, and keeps the others', () => {
    const policies = new Map<string, PolicySpec>([
      ['base', policySpecOf({ monitors: [cpu('ok', 1), { ...cpu('bad', 1), severity: 'Loud' }, null, 7] })],
    ]);
    const out = fleetMonitors(
      [device('a', ['g']), device('b', ['g'])],
      new Map([['g', group('base')]]),
      policies,
    );
    expect(out.byDevice.get('a')?.map((m) => m.name)).toEqual(['ok']);
    expect(out.problems).toEqual([
      'policy base: monitor bad: severity is not Info, Warning or Critical; left out',
    ]);
  });
});
