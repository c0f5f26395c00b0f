import { describe, expect, it } from 'vitest';
import { computePlan, type StoredResource } from '../../src/engine/plan.js';
import { viewOf } from '../../src/engine/resource-view.js';
import { monitorChanges } from '../../src/replay/monitor-changes.js';
import type { Resource } from '../../src/resources/kinds.js';

/**
 * A plan's changes to effective monitors, from stored resources and the plan computed against them:
 * which existing devices' monitors change, and which monitors are added or changed where.
 */
const policy = (name: string, monitors: Record<string, unknown>[]): Resource =>
  ({ apiVersion: 'rmm/v1', kind: 'Policy', metadata: { name }, spec: { monitors } }) as unknown as Resource;
const group = (name: string, spec: Record<string, unknown> = {}): Resource =>
  ({ apiVersion: 'rmm/v1', kind: 'DeviceGroup', metadata: { name }, spec }) as Resource;
const device = (name: string, groups: string[]): Resource =>
  ({ apiVersion: 'rmm/v1', kind: 'Device', metadata: { name }, spec: { site: 'main', groups } }) as Resource;
const cpu = (value: number, extra: Record<string, unknown> = {}) => ({
  name: 'cpu-high',
  metric: 'cpu.percent',
  when: { op: '>', value },
  severity: 'Warning',
  ...extra,
});
const disk = {
  name: 'root-full',
  metric: 'disk.used_percent',
  match: { mount: '/' },
  when: { op: '>', value: 90 },
  severity: 'Critical',
};
const stored = (r: Resource): StoredResource => ({
  ...viewOf(r),
  managed: true,
  owner: { set: 'default', source: 'a.yaml' },
});

const BASE = [
  policy('linux', [cpu(90), disk]),
  group('servers', { policy: 'linux' }),
  group('lab'),
  device('web-01', ['servers']),
  device('web-02', ['servers']),
  device('lab-01', ['lab']),
];

function changes(before: Resource[], after: Resource[]) {
  const storedState = before.map(stored);
  const plan = computePlan(after.map(viewOf), storedState, {
    prune: true,
    scope: { set: 'default', prune: [{ key: 'a.yaml', folder: false, recursive: false }] },
  });
  return monitorChanges(storedState, plan);
}
const replace = (list: Resource[], next: Resource) =>
  list.map((r) => (r.kind === next.kind && r.metadata.name === next.metadata.name ? next : r));
const summary = (c: ReturnType<typeof changes>) =>
  c.monitors.map((m) => ({
    monitor: `${m.policy}/${m.name}`,
    added: m.added,
    devices: m.devices.map((d) => `${d.device}:${d.before?.threshold ?? '-'}->${d.after.threshold}`),
  }));

describe('monitorChanges', () => {
  it('a threshold change changes that monitor on every device the policy reaches', () => {
    const c = changes(BASE, replace(BASE, policy('linux', [cpu(80), disk])));
    expect(c.devices).toBe(2);
    expect(summary(c)).toEqual([
      { monitor: 'linux/cpu-high', added: false, devices: ['web-01:90->80', 'web-02:90->80'] },
    ]);
  });

  it.each([
    ['for', cpu(90, { when: { op: '>', value: 90, for: '5m' } })],
    ['severity', cpu(90, { severity: 'Critical' })],
    ['op', cpu(90, { when: { op: '>=', value: 90 } })],
    ['match', cpu(90, { match: { core: '0' } })],
  ])('a change of %s is a changed monitor', (_, monitor) => {
    const c = changes(BASE, replace(BASE, policy('linux', [monitor, disk])));
    expect(c.monitors.map((m) => [m.name, m.added, m.devices.length])).toEqual([['cpu-high', false, 2]]);
  });

  it('a monitor added to a policy is added; a monitor removed changes devices but is not replayed', () => {
    const added = changes(
      BASE,
      replace(
        BASE,
        policy('linux', [cpu(90), disk, { ...disk, name: 'var-full', match: { mount: '/var' } }]),
      ),
    );
    expect(added.devices).toBe(2);
    expect(summary(added)).toEqual([
      { monitor: 'linux/var-full', added: true, devices: ['web-01:-->90', 'web-02:-->90'] },
    ]);
    const removed = changes(BASE, replace(BASE, policy('linux', [disk])));
    expect(removed).toEqual({ devices: 2, monitors: [] });
  });

  it('a device joining a group gets the group policy monitors: changed there only, not added', () => {
    const c = changes(BASE, replace(BASE, device('lab-01', ['lab', 'servers'])));
    expect(c.devices).toBe(1);
    expect(summary(c)).toEqual([
      { monitor: 'linux/cpu-high', added: false, devices: ['lab-01:-->90'] },
      { monitor: 'linux/root-full', added: false, devices: ['lab-01:-->90'] },
    ]);
  });

  it('a group given a policy reaches its devices; created and destroyed devices are not counted', () => {
    const after = [
      ...replace(BASE, group('lab', { policy: 'lab' })).filter((r) => r.metadata.name !== 'web-02'),
      policy('lab', [cpu(50)]),
      device('lab-02', ['lab']),
    ];
    const c = changes(BASE, after);
    expect(c.devices).toBe(1);
    expect(summary(c)).toEqual([{ monitor: 'lab/cpu-high', added: true, devices: ['lab-01:-->50'] }]);
  });

  it('devices alike are computed once, but a site of their own still decides their monitors', () => {
    const scoped = [
      ...BASE.filter((r) => r.kind !== 'Device'),
      group('alpha-only', { site: 'alpha', policy: 'linux' }),
      { ...device('a-01', ['alpha-only']), spec: { site: 'alpha', groups: ['alpha-only'] } } as Resource,
      { ...device('b-01', ['alpha-only']), spec: { site: 'beta', groups: ['alpha-only'] } } as Resource,
      { ...device('a-02', ['alpha-only']), spec: { site: 'alpha', groups: ['alpha-only'] } } as Resource,
    ];
    const c = changes(scoped, replace(scoped, policy('linux', [cpu(80), disk])));
    // b-01's group belongs to another site: no policy reaches it, before or after.
    expect(c.devices).toBe(2);
    expect(summary(c)).toEqual([
      { monitor: 'linux/cpu-high', added: false, devices: ['a-01:90->80', 'a-02:90->80'] },
    ]);
  });

  it('sees what sites and devices attach: a site policy, a group override, a device turning a monitor off', () => {
    const site = (spec: Record<string, unknown>): Resource =>
      ({ apiVersion: 'rmm/v1', kind: 'Site', metadata: { name: 'main' }, spec }) as Resource;
    const own = (name: string, spec: Record<string, unknown>): Resource =>
      ({ ...device(name, ['lab']), spec: { site: 'main', groups: ['lab'], ...spec } }) as Resource;
    const levels = [
      policy('linux', [cpu(90), disk]),
      site({ policies: ['linux'] }),
      group('lab'),
      own('lab-01', {}),
      own('lab-02', { overrides: [{ monitor: 'cpu-high', disabled: true }] }),
    ];
    // The site's policy reaches both; lab-02 has cpu-high off, so a threshold change reaches lab-01 only.
    const c = changes(levels, replace(levels, policy('linux', [cpu(80), disk])));
    expect(summary(c)).toEqual([{ monitor: 'linux/cpu-high', added: false, devices: ['lab-01:90->80'] }]);
    // A group override of the site's monitor changes it for the group's devices.
    const overridden = replace(
      levels,
      group('lab', { overrides: [{ monitor: 'cpu-high', when: { value: 70 } }] }),
    );
    expect(summary(changes(levels, overridden))).toEqual([
      { monitor: 'linux/cpu-high', added: false, devices: ['lab-01:90->70'] },
    ]);
  });

  it('a plan that changes no monitor: none, and a label change on a device reads no other device', () => {
    const c = changes(
      BASE,
      replace(BASE, {
        ...device('web-01', ['servers']),
        metadata: { name: 'web-01', labels: { env: 'prod' } },
      } as Resource),
    );
    expect(c).toEqual({ devices: 0, monitors: [] });
  });
});
