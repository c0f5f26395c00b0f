import { describe, expect, it } from 'vitest';
import {
  effectiveMonitors,
  type GroupLink,
  policiesReaching,
  seriesKey,
} from '../../src/monitoring/effective-monitors.js';
import type { Monitor, PolicySpec } from '../../src/resources/kinds.js';

const monitor = (name: string, metric: string, value: number, extra: Partial<Monitor> = {}): Monitor => ({
  name,
  metric,
  when: { op: '>', value },
  severity: 'Warning',
  ...extra,
});

const group = (parent: string | null, policy: string | null, site: string | null = null): GroupLink => ({
  parent,
  policy,
  site,
});

// servers (baseline) <- web (web) <- web-tuned (tuned); db (db) on its own; alpha-only scoped to alpha.
const groups = new Map<string, GroupLink>([
  ['servers', group(null, 'baseline')],
  ['web', group('servers', 'web')],
  ['web-tuned', group('web', 'tuned')],
  ['db', group(null, 'db')],
  ['alpha-only', group('servers', 'alpha', 'alpha')],
  ['loop-a', group('loop-b', 'baseline')],
  ['loop-b', group('loop-a', null)],
]);
const policies = new Map<string, PolicySpec>([
  [
    'baseline',
    {
      interval: '5m',
      monitors: [
        monitor('cpu', 'cpu.percent', 90),
        monitor('root', 'disk.used_percent', 90, { match: { mount: '/' } }),
      ],
    },
  ],
  ['web', { monitors: [monitor('cpu', 'cpu.percent', 80, { interval: '30s' })] }],
  ['tuned', { monitors: [monitor('cpu-warn', 'cpu.percent', 70), monitor('cpu-crit', 'cpu.percent', 95)] }],
  ['db', { monitors: [monitor('cpu', 'cpu.percent', 60)] }],
  ['alpha', { monitors: [monitor('cpu', 'cpu.percent', 10)] }],
]);

const owners = (groupsOf: string[], site = 'main') => {
  const { monitors, conflicts } = effectiveMonitors({ groups: groupsOf, site }, groups, policies);
  return {
    monitors: monitors
      .map((m) => `${m.series} ${m.policy}/${m.monitor.name} via ${m.via.join('>')} every ${m.interval}`)
      .sort(),
    conflicts: conflicts.map((c) => `${c.series}: ${c.policies.map((p) => p.policy).join(',')}`),
  };
};

describe("effective monitors: the most specific group's policy owns a series", () => {
  it('names a series by metric and its labels in name order', () => {
    expect(seriesKey('cpu.percent', undefined)).toBe('cpu.percent');
    expect(seriesKey('x.y', { b: '2', a: '/' })).toBe('x.y{a="/",b="2"}');
  });

  it.each([
    {
      groups: ['servers'],
      monitors: [
        'cpu.percent baseline/cpu via servers every 5m',
        'disk.used_percent{mount="/"} baseline/root via servers every 5m',
      ],
      conflicts: [],
    },
    {
      // web's policy overrides its parent's on cpu.percent; baseline's disk still applies.
      groups: ['web'],
      monitors: [
        'cpu.percent web/cpu via web every 30s',
        'disk.used_percent{mount="/"} baseline/root via web>servers every 5m',
      ],
      conflicts: [],
    },
    {
      // Both of the nearest policy's monitors on a series apply (a ladder of thresholds).
      groups: ['web-tuned'],
      monitors: [
        'cpu.percent tuned/cpu-crit via web-tuned every 1m',
        'cpu.percent tuned/cpu-warn via web-tuned every 1m',
        'disk.used_percent{mount="/"} baseline/root via web-tuned>web>servers every 5m',
      ],
      conflicts: [],
    },
    {
      // Listing the parent too changes nothing: web is still below servers.
      groups: ['servers', 'web'],
      monitors: [
        'cpu.percent web/cpu via web every 30s',
        'disk.used_percent{mount="/"} baseline/root via servers every 5m',
      ],
      conflicts: [],
    },
    {
      // The same policy through two unrelated groups counts once (disk); another policy ties (cpu).
      groups: ['web-tuned', 'loop-a'],
      monitors: [
        'cpu.percent baseline/cpu via loop-a every 5m',
        'cpu.percent tuned/cpu-crit via web-tuned every 1m',
        'cpu.percent tuned/cpu-warn via web-tuned every 1m',
        'disk.used_percent{mount="/"} baseline/root via loop-a every 5m',
      ],
      conflicts: ['cpu.percent: tuned,baseline'],
    },
  ])('a device in $groups', ({ groups: of, monitors, conflicts }) => {
    expect(owners(of)).toEqual({ monitors, conflicts });
  });

  it('reports two policies of groups neither above the other as a conflict, and applies both: never a silent pick', () => {
    expect(owners(['web', 'db'])).toEqual({
      monitors: [
        'cpu.percent db/cpu via db every 1m',
        'cpu.percent web/cpu via web every 30s',
        'disk.used_percent{mount="/"} baseline/root via web>servers every 5m',
      ],
      conflicts: ['cpu.percent: web,db'],
    });
  });

  it('takes nothing from a group scoped to another site, nor from above it', () => {
    expect(owners(['alpha-only'], 'beta').monitors).toEqual([]);
    expect(owners(['alpha-only'], 'alpha').monitors).toContain(
      'cpu.percent alpha/cpu via alpha-only every 1m',
    );
  });

  it('ends a parent cycle and an unknown group instead of looping', () => {
    expect(policiesReaching({ groups: ['loop-a', 'nowhere'], site: 'main' }, groups)).toEqual([
      { policy: 'baseline', group: 'loop-a', via: ['loop-a'], above: ['loop-b'] },
    ]);
  });
});
