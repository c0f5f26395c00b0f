import { describe, expect, it } from 'vitest';
import {
  type AlertRouteSpec,
  DEFAULT_GROUP_WAIT_MS,
  deviceScope,
  type NamedRoute,
  repeatEveryMs,
  routeMatches,
  routeTargets,
} from '../../src/notify/routes.js';

const parents = new Map<string, string | null>([
  ['web', 'servers'],
  ['servers', null],
  ['db', 'servers'],
]);
const web01 = deviceScope({ site: 'main', groups: ['web'], labels: { env: 'prod', tier: 'front' } }, parents);

describe('routeMatches: every given field of match must match the device', () => {
  const rows: Array<{
    name: string;
    match: AlertRouteSpec['match'];
    severity?: 'Info' | 'Warning' | 'Critical';
    expected: boolean;
  }> = [
    { name: 'no match block takes every alert', match: undefined, expected: true },
    { name: 'an empty match takes every alert', match: {}, expected: true },
    { name: 'severity listed', match: { severities: ['Critical'] }, expected: true },
    { name: 'severity not listed', match: { severities: ['Warning'] }, expected: false },
    { name: 'site listed', match: { sites: ['main', 'beta'] }, expected: true },
    { name: 'site not listed', match: { sites: ['beta'] }, expected: false },
    { name: 'the device is in the group', match: { groups: ['web'] }, expected: true },
    { name: 'the device is in a group below it', match: { groups: ['servers'] }, expected: true },
    { name: 'a sibling group', match: { groups: ['db'] }, expected: false },
    { name: 'labels all equal', match: { labels: { env: 'prod', tier: 'front' } }, expected: true },
    { name: 'one label differs', match: { labels: { env: 'prod', tier: 'back' } }, expected: false },
    { name: 'a label the device lacks', match: { labels: { owner: 'ops' } }, expected: false },
    {
      name: 'all fields, all match',
      match: { severities: ['Critical'], sites: ['main'], groups: ['servers'], labels: { env: 'prod' } },
      expected: true,
    },
    {
      name: 'all fields, one fails',
      match: { severities: ['Critical'], sites: ['main'], groups: ['db'], labels: { env: 'prod' } },
      expected: false,
    },
  ];
  for (const row of rows)
    it(row.name, () => {
      const route: AlertRouteSpec = { channels: ['c'], ...(row.match ? { match: row.match } : {}) };
      expect(routeMatches(route, row.severity ?? 'Critical', web01)).toBe(row.expected);
    });

  it('walks a cycle in hand-edited group rows without looping', () => {
    const cyclic = new Map<string, string | null>([
      ['a', 'b'],
      ['b', 'a'],
    ]);
    expect([...deviceScope({ site: null, groups: ['a'], labels: {} }, cyclic).groups].sort()).toEqual([
      'a',
      'b',
    ]);
  });
});

describe('routeTargets: one target per channel', () => {
  const routes: NamedRoute[] = [
    { name: 'z-all', spec: { channels: ['ops-slack', 'audit-hook'], groupWait: '0s' } },
    {
      name: 'a-critical',
      spec: {
        channels: ['oncall-mail', 'ops-slack'],
        match: { severities: ['Critical'] },
        notifyOnResolve: false,
      },
    },
  ];

  it('a channel named by two routes is owed once, by the first route in name order', () => {
    expect(routeTargets(routes, { severity: 'Critical', event: 'fire' }, web01)).toEqual([
      { route: 'a-critical', channel: 'oncall-mail', groupWaitMs: DEFAULT_GROUP_WAIT_MS },
      { route: 'a-critical', channel: 'ops-slack', groupWaitMs: DEFAULT_GROUP_WAIT_MS },
      { route: 'z-all', channel: 'audit-hook', groupWaitMs: 0 },
    ]);
  });

  it('a resolve skips routes with notifyOnResolve: false, so their channels may come from another route', () => {
    expect(routeTargets(routes, { severity: 'Critical', event: 'resolve' }, web01)).toEqual([
      { route: 'z-all', channel: 'ops-slack', groupWaitMs: 0 },
      { route: 'z-all', channel: 'audit-hook', groupWaitMs: 0 },
    ]);
  });

  it('an alert no route matches owes nothing', () => {
    const only = [{ name: 'beta', spec: { channels: ['x'], match: { sites: ['beta'] } } }];
    expect(routeTargets(only, { severity: 'Warning', event: 'fire' }, web01)).toEqual([]);
  });

  it('repeatEvery: unset or 0s never repeats', () => {
    expect(repeatEveryMs({ channels: [] })).toBeUndefined();
    expect(repeatEveryMs({ channels: [], repeatEvery: '0s' })).toBeUndefined();
    expect(repeatEveryMs({ channels: [], repeatEvery: '4h' })).toBe(4 * 3_600_000);
  });
});
