import { describe, expect, it } from 'vitest';
import { effectiveMonitors } from '../../src/monitoring/effective-monitors.js';
import { resolveOverride } from '../../src/monitoring/monitor-overrides.js';
import type { DeviceLink, GroupLink, Holder } from '../../src/monitoring/policy-holders.js';
import type { Monitor, MonitorOverride, PolicySpec } from '../../src/resources/kinds.js';

/**
 * Policies at site, group and device level, several per level, and overrides of inherited monitors:
 * precedence device > group (child over parent) > site, overrides applied lowest level last, each
 * changed value with the holder of its override, enforced monitors untouchable, disabled ones absent.
 */
const monitor = (name: string, metric: string, value: number, extra: Partial<Monitor> = {}): Monitor => ({
  name,
  metric,
  when: { op: '>', value, for: '5m' },
  severity: 'Warning',
  ...extra,
});

const policies = new Map<string, PolicySpec>([
  [
    'linux-server',
    {
      monitors: [
        monitor('cpu-high', 'cpu.percent', 90),
        monitor('root-full', 'disk.used_percent', 90, { match: { mount: '/' } }),
        monitor('offline-ish', 'device.reachable', 0, { enforced: true, when: { op: '==', value: 0 } }),
      ],
    },
  ],
  ['web-tier', { monitors: [monitor('load', 'load.1m', 8)] }],
  ['strict-cpu', { monitors: [monitor('cpu-strict', 'cpu.percent', 70, { severity: 'Critical' })] }],
  ['other-cpu', { monitors: [monitor('cpu-high', 'cpu.percent', 50)] }],
  ['memory', { monitors: [monitor('mem', 'memory.used_percent', 95)] }],
]);

const site = (policies: string[], overrides: MonitorOverride[] = []): Holder => ({ policies, overrides });
const group = (
  parent: string | null,
  policies: string[],
  overrides: MonitorOverride[] = [],
  siteName: string | null = null,
): GroupLink => ({ parent, site: siteName, policies, overrides });

const sites = new Map<string, Holder>([
  ['main', site(['linux-server'], [{ monitor: 'cpu-high', when: { value: 85 } }])],
  ['lab', site(['linux-server', 'memory'], [{ monitor: 'root-full', disabled: true }])],
]);
const groups = new Map<string, GroupLink>([
  ['servers', group(null, [], [{ monitor: 'cpu-high', when: { value: 95 }, severity: 'Critical' }])],
  ['web', group('servers', ['web-tier'], [{ monitor: 'cpu-high', when: { for: '10m', value: 96 } }])],
  ['db', group(null, [], [{ monitor: 'cpu-high', when: { value: 99 } }])],
  ['strict', group(null, ['strict-cpu'])],
]);

const run = (device: Partial<DeviceLink>) =>
  effectiveMonitors({ name: 'd1', groups: [], site: 'main', ...device }, groups, policies, sites);
const byName = (device: Partial<DeviceLink>) =>
  new Map(run(device).monitors.map((m) => [`${m.policy}/${m.monitor.name}`, m]));

describe('policy levels: device over group over site', () => {
  it('a site-level policy reaches every device of the site, with its origin', () => {
    const cpu = byName({}).get('linux-server/cpu-high');
    expect(cpu).toMatchObject({ level: 'site', holder: 'main', via: [] });
    // The site tunes the baseline it attaches: an override at the policy's own level.
    expect(cpu?.monitor.when).toEqual({ op: '>', value: 85, for: '5m' });
    expect(cpu?.changed).toEqual({ 'when.value': { level: 'site', holder: 'main', via: [] } });
  });

  it("a group's policy owns a series over the site's; a device's own policy over both", () => {
    expect([...byName({ groups: ['strict'] }).keys()].sort()).toEqual([
      'linux-server/offline-ish',
      'linux-server/root-full',
      'strict-cpu/cpu-strict',
    ]);
    const own = byName({ groups: ['strict'], policies: ['other-cpu'] });
    expect(own.get('other-cpu/cpu-high')).toMatchObject({ level: 'device', holder: 'd1' });
    expect(own.has('strict-cpu/cpu-strict')).toBe(false);
  });

  it('several policies at one level that monitor one series tie: a conflict, never a silent pick', () => {
    const { conflicts, monitors } = run({ groups: ['strict'], policies: ['other-cpu', 'strict-cpu'] });
    expect(conflicts.map((c) => [c.series, c.policies.map((p) => `${p.level}:${p.policy}`)])).toEqual([
      ['cpu.percent', ['device:other-cpu', 'device:strict-cpu']],
    ]);
    expect(monitors.filter((m) => m.series === 'cpu.percent')).toHaveLength(2);
  });

  it('several policies at one level on different series all apply', () => {
    const lab = byName({ site: 'lab' });
    expect([...lab.keys()].sort()).toEqual([
      'linux-server/cpu-high',
      'linux-server/offline-ish',
      'memory/mem',
    ]);
  });
});

describe('overrides, lowest level last', () => {
  it('a child group refines its parent, which refines the site; each value shows whose override set it', () => {
    const cpu = byName({ groups: ['web'] }).get('linux-server/cpu-high');
    expect(cpu?.monitor.when).toEqual({ op: '>', value: 96, for: '10m' });
    expect(cpu?.monitor.severity).toBe('Critical');
    expect(cpu?.changed).toEqual({
      'when.value': { level: 'group', holder: 'web', via: ['web'] },
      severity: { level: 'group', holder: 'servers', via: ['web', 'servers'] },
      'when.for': { level: 'group', holder: 'web', via: ['web'] },
    });
  });

  it('the device overrides last, and may turn a monitor off: it is absent, listed as disabled', () => {
    const out = run({
      groups: ['web'],
      overrides: [
        { monitor: 'cpu-high', when: { value: 97 } },
        { monitor: 'load', disabled: true },
      ],
    });
    const cpu = out.monitors.find((m) => m.monitor.name === 'cpu-high');
    expect(cpu?.monitor.when.value).toBe(97);
    expect(cpu?.changed['when.value']).toEqual({ level: 'device', holder: 'd1', via: [] });
    expect(out.monitors.map((m) => m.monitor.name)).not.toContain('load');
    expect(out.disabled.map((m) => [m.monitor.name, m.changed.disabled?.level])).toEqual([
      ['load', 'device'],
    ]);
  });

  it('a lower level turns back on what a higher one disabled', () => {
    const lab = run({ site: 'lab', overrides: [{ monitor: 'root-full', disabled: false }] });
    expect(lab.monitors.map((m) => m.monitor.name)).toContain('root-full');
    expect(run({ site: 'lab' }).disabled.map((m) => m.monitor.name)).toEqual(['root-full']);
  });

  it('two unrelated groups setting one field differently is a clash, reported', () => {
    const out = run({ groups: ['servers', 'db'] });
    expect(out.clashes).toEqual([
      {
        policy: 'linux-server',
        monitor: 'cpu-high',
        field: 'when.value',
        holders: [
          { level: 'group', holder: 'servers', via: ['servers'] },
          { level: 'group', holder: 'db', via: ['db'] },
        ],
      },
    ]);
    // A group and its parent setting one field are no clash: the child refines.
    expect(
      run({ groups: ['web'], overrides: [{ monitor: 'cpu-high', when: { value: 1 } }] }).clashes,
    ).toEqual([]);
  });

  it('an override of an enforced monitor is not applied, and said so (validation refuses it first)', () => {
    const out = run({ overrides: [{ monitor: 'offline-ish', when: { value: 1 } }] });
    expect(out.monitors.find((m) => m.monitor.name === 'offline-ish')?.monitor.when.value).toBe(0);
    expect(out.problems).toEqual([
      'device d1: monitor "offline-ish" of policy "linux-server" is enforced: no site, group or device may override it; not applied',
    ]);
  });
});

describe('resolveOverride: which monitor an override names', () => {
  const monitorsOf = (p: string) => policies.get(p)?.monitors;
  it.each([
    [{ monitor: 'cpu-high' }, ['linux-server', 'web-tier'], { policy: 'linux-server', monitor: 'cpu-high' }],
    [
      { monitor: 'cpu-hihg' },
      ['linux-server', 'web-tier'],
      'no policy reaching this group (policies: linux-server, web-tier) has a monitor "cpu-hihg"; did you mean "cpu-high"?',
    ],
    [
      { monitor: 'cpu-high' },
      ['linux-server', 'other-cpu'],
      'policies "linux-server" and "other-cpu" both have a monitor "cpu-high"; say which with policy:',
    ],
    [
      { monitor: 'cpu-high', policy: 'other-cpu' },
      ['linux-server', 'other-cpu'],
      { policy: 'other-cpu', monitor: 'cpu-high' },
    ],
    [
      { monitor: 'cpu-high', policy: 'linux-srever' },
      ['linux-server'],
      'policy "linux-srever" does not reach this group (policies: linux-server); did you mean "linux-server"?',
    ],
    [
      { monitor: 'offline-ish' },
      ['linux-server'],
      'monitor "offline-ish" of policy "linux-server" is enforced: no site, group or device may override it',
    ],
  ])('%j among %j', (override, candidates, expected) => {
    const got = resolveOverride({ ...override, disabled: true }, candidates, monitorsOf, 'group');
    expect('problem' in got ? got.message : got).toEqual(expected);
  });
});
