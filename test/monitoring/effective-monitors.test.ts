import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  effectiveMonitors,
  type GroupLink,
  monitoredSeries,
  policiesReaching,
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
    expect(monitoredSeries('cpu.percent', undefined)).toBe('cpu.percent');
    expect(monitoredSeries('x.y', { b: '2', a: '/' })).toBe('x.y{a="/",b="2"}');
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
      {
        policy: 'baseline',
        level: 'group',
        holder: 'loop-a',
        via: ['loop-a'],
        above: ['group:loop-b', 'site:main'],
      },
    ]);
  });
});

/**
 * The rule against a reference written from its wording: a candidate is a policy monitoring the
 * series through a group on the device's chains; it is overridden when another candidate's group
 * lies below its group (found by walking parents from that other group).
 */
describe('effective monitors against a reference model', () => {
  const NAMES = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'];
  const SERIES = ['cpu.percent', 'load.1m'];
  const reachable = (start: string, site: string, tree: ReadonlyMap<string, GroupLink>): string[] => {
    const out: string[] = [];
    for (let name: string | null = start; name !== null; name = tree.get(name)?.parent ?? null) {
      const group = tree.get(name);
      if (!group || out.includes(name) || (group.site !== null && group.site !== site)) break;
      out.push(name);
    }
    return out;
  };

  it('owners and conflicts match for random trees, policies and memberships', () => {
    // Parents come earlier in NAMES: no cycles (validation refuses them; the walk's end on one is
    // tested above, and "above" has no meaning inside one).
    const groupArb = (i: number) =>
      fc.record({
        parent: i === 0 ? fc.constant(null) : fc.option(fc.constantFrom(...NAMES.slice(0, i)), { nil: null }),
        policy: fc.option(fc.constantFrom('p0', 'p1', 'p2'), { nil: null }),
        site: fc.option(fc.constantFrom('main', 'other'), { freq: 4, nil: null }),
      });
    const policyArb = fc.subarray(SERIES);
    fc.assert(
      fc.property(
        fc.tuple(...NAMES.map((_, i) => groupArb(i))),
        fc.tuple(policyArb, policyArb, policyArb),
        fc.uniqueArray(fc.constantFrom(...NAMES), { maxLength: 4 }),
        (links, monitored, memberOf) => {
          const tree = new Map(links.map((l, i) => [NAMES[i] as string, l]));
          const specs = new Map<string, PolicySpec>(
            monitored.map((series, i) => [`p${i}`, { monitors: series.map((m) => monitor(`m-${m}`, m, 1)) }]),
          );
          const { monitors, conflicts } = effectiveMonitors({ groups: memberOf, site: 'main' }, tree, specs);

          const reached = new Set(memberOf.flatMap((g) => reachable(g, 'main', tree)));
          for (const series of SERIES) {
            const candidates = [...reached].filter((g) => {
              const policy = tree.get(g)?.policy;
              return policy != null && monitored[Number(policy.slice(1))]?.includes(series);
            });
            const owners = candidates.filter(
              (g) =>
                !candidates.some(
                  (other) => other !== g && reachable(other, 'main', tree).slice(1).includes(g),
                ),
            );
            const policies = [...new Set(owners.map((g) => tree.get(g)?.policy))].sort();
            expect(
              monitors
                .filter((m) => m.series === series)
                .map((m) => m.policy)
                .sort(),
            ).toEqual(policies);
            expect(conflicts.some((c) => c.series === series)).toBe(policies.length > 1);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
