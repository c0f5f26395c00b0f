import { describe, expect, it } from 'vitest';
import { blastRadius } from '../../src/engine/blast-radius.js';
import { computePlan, type StoredResource } from '../../src/engine/plan.js';
import { viewOf } from '../../src/engine/resource-view.js';
import type { Resource } from '../../src/resources/kinds.js';

const group = (name: string, spec: Record<string, unknown> = {}): Resource =>
  ({ apiVersion: 'rmm/v1', kind: 'DeviceGroup', metadata: { name }, spec }) as Resource;
const device = (name: string, groups: string[], site = 'alpha'): Resource =>
  ({ apiVersion: 'rmm/v1', kind: 'Device', metadata: { name }, spec: { site, groups } }) as Resource;
const stored = (resource: Resource, managed = true): StoredResource => ({
  ...viewOf(resource),
  managed,
  owner: { set: 'default', source: 'all.yaml' },
});
const ALL = { set: 'default', prune: [{ key: 'all.yaml', folder: false, recursive: false }] };

/** A tree: linux (policy linux-base) > web, db; web > web-edge; windows (policy win-base) on its own. */
const TREE = [
  group('linux', { policy: 'linux-base' }),
  group('web', { parent: 'linux' }),
  group('web-edge', { parent: 'web', policy: 'edge' }),
  group('db', { parent: 'linux' }),
  group('windows', { policy: 'win-base' }),
];
const DEVICES = [
  device('in-linux', ['linux']),
  device('in-web', ['web']),
  device('in-edge', ['web-edge']),
  device('in-db', ['db']),
  device('in-windows', ['windows']),
];

/** The radius of going from `before` (all stored, managed) to `after`. */
function radius(
  before: Resource[],
  after: Resource[],
  options = { prune: true, scope: ALL },
  extra: StoredResource[] = [],
) {
  const storedState = [...before.map((r) => stored(r)), ...extra];
  const plan = computePlan(after.map(viewOf), storedState, options);
  // No relay here, so no device changes route (test/engine/relay-moves.test.ts has those).
  const { relays, ...counts } = blastRadius(plan, () => storedState);
  expect(relays).toEqual([]);
  return counts;
}

const replace = (list: Resource[], next: Resource) =>
  list.map((r) => (r.kind === next.kind && r.metadata.name === next.metadata.name ? next : r));

describe('blastRadius', () => {
  it('a group policy change affects every device under it, through descendants too', () => {
    const after = replace(TREE, group('linux', { policy: 'linux-strict' }));
    expect(radius([...TREE, ...DEVICES], [...after, ...DEVICES])).toEqual({ site: 0, groups: 0, policy: 4 });
  });

  it('a policy added to a leaf group affects only its devices', () => {
    const after = replace(TREE, group('db', { parent: 'linux', policy: 'db-base' }));
    expect(radius([...TREE, ...DEVICES], [...after, ...DEVICES])).toEqual({ site: 0, groups: 0, policy: 1 });
  });

  it("a parent change affects the devices of the group and of its descendants, not its siblings'", () => {
    const after = replace(TREE, group('web', { parent: 'windows' }));
    expect(radius([...TREE, ...DEVICES], [...after, ...DEVICES])).toEqual({ site: 0, groups: 0, policy: 2 });
  });

  it('a parent change between parents with the same policies changes nothing effective', () => {
    const tree = [...TREE, group('linux-2', { policy: 'linux-base' })];
    const after = replace(tree, group('web', { parent: 'linux-2' }));
    expect(radius([...tree, ...DEVICES], [...after, ...DEVICES])).toEqual({ site: 0, groups: 0, policy: 0 });
  });

  it('a device moving groups counts as a group change, and as a policy change only if its policies differ', () => {
    const toSibling = replace(DEVICES, device('in-web', ['db']));
    expect(radius([...TREE, ...DEVICES], [...TREE, ...toSibling])).toEqual({ site: 0, groups: 1, policy: 0 });
    const toWindows = replace(DEVICES, device('in-web', ['windows']));
    expect(radius([...TREE, ...DEVICES], [...TREE, ...toWindows])).toEqual({ site: 0, groups: 1, policy: 1 });
  });

  it('a group deleted with its members leaving it, and a group created with members joining', () => {
    const legacy = group('legacy', { policy: 'old' });
    const before = [...TREE, legacy, ...replace(DEVICES, device('in-db', ['db', 'legacy']))];
    expect(radius(before, [...TREE, ...DEVICES])).toEqual({ site: 0, groups: 1, policy: 1 });
    const fresh = group('fresh', { parent: 'windows' });
    const after = [...TREE, fresh, ...replace(DEVICES, device('in-linux', ['linux', 'fresh']))];
    expect(radius([...TREE, ...DEVICES], after)).toEqual({ site: 0, groups: 1, policy: 1 });
  });

  it('counts a hand-made device (not managed, not declared) in a group whose policy changes', () => {
    const handMade = stored(device('hand-made', ['windows']), false);
    const after = replace(TREE, group('windows', { policy: 'win-strict' }));
    expect(
      radius([...TREE, ...DEVICES], [...after, ...DEVICES], { prune: true, scope: ALL }, [handMade]),
    ).toEqual({
      site: 0,
      groups: 0,
      policy: 2,
    });
  });

  it('does not count devices created or destroyed (the summary does)', () => {
    const after = [
      ...replace(TREE, group('linux', { policy: 'x' })),
      ...DEVICES.slice(1),
      device('new', ['linux']),
    ];
    expect(radius([...TREE, ...DEVICES], after)).toEqual({ site: 0, groups: 0, policy: 3 });
  });

  it("a site's policies reach every device of the site, and only them", () => {
    const site = (name: string, spec: Record<string, unknown> = {}): Resource =>
      ({ apiVersion: 'rmm/v1', kind: 'Site', metadata: { name }, spec }) as Resource;
    const before = [site('alpha'), site('beta'), ...TREE, ...DEVICES, device('in-beta', [], 'beta')];
    const after = replace(before, site('alpha', { policies: ['baseline'] }));
    expect(radius(before, after)).toEqual({ site: 0, groups: 0, policy: 5 });
    // A policy the devices already follow through a group changes nothing effective for them.
    const same = replace(before, site('alpha', { policies: ['linux-base'] }));
    expect(radius(before, same)).toEqual({ site: 0, groups: 0, policy: 1 });
  });

  it("a device's own policies are part of its effective policies", () => {
    const own = (name: string, groups: string[], policies: string[]): Resource =>
      ({
        apiVersion: 'rmm/v1',
        kind: 'Device',
        metadata: { name },
        spec: { site: 'alpha', groups, policies },
      }) as Resource;
    const before = [...TREE, ...DEVICES];
    expect(radius(before, replace(before, own('in-web', ['web'], ['extra'])))).toEqual({
      site: 0,
      groups: 0,
      policy: 1,
    });
    expect(radius(before, replace(before, own('in-web', ['web'], ['linux-base'])))).toEqual({
      site: 0,
      groups: 0,
      policy: 0,
    });
  });

  it('a group scoped to another site gives its policy to no device of this one', () => {
    // Only a row edited by hand can hold such a membership; its policy does not apply, and a device
    // that moves to the group's site gains it.
    const scoped = group('beta-ops', { site: 'beta', policy: 'ops' });
    const before = [...TREE, scoped, device('d', ['linux', 'beta-ops'], 'alpha')];
    const after = [...TREE, scoped, device('d', ['linux', 'beta-ops'], 'beta')];
    expect(radius(before, after)).toEqual({ site: 1, groups: 0, policy: 1 });
  });

  it('decodes only the stored devices whose image names a group whose chain changed', () => {
    const asRow = (resource: Resource): StoredResource => {
      const { kind, name, fields } = viewOf(resource);
      // A row whose image names none of the changed groups must never be decoded.
      const decoded = resource.metadata.name === 'in-windows' ? undefined : fields;
      return {
        kind,
        name,
        managed: true,
        image: JSON.stringify(fields),
        get fields() {
          if (!decoded) throw new Error(`decoded ${name}`);
          return decoded;
        },
      };
    };
    const storedState = [...TREE, ...DEVICES].map(asRow);
    const after = replace(TREE, group('web', { parent: 'linux', policy: 'web-base' }));
    const desired = [...after, ...DEVICES].map((r) => {
      const view = viewOf(r);
      return { ...view, image: JSON.stringify(view.fields) };
    });
    const plan = computePlan(desired, storedState, { prune: false });
    expect(blastRadius(plan, () => storedState)).toEqual({ site: 0, groups: 0, policy: 2, relays: [] });
  });

  it('reads the stored state only when the plan touches groups or memberships', () => {
    const before = [...TREE, ...DEVICES].map((r) => stored(r));
    const plan = computePlan(
      [
        ...TREE,
        ...replace(DEVICES, {
          ...device('in-db', ['db']),
          spec: { site: 'alpha', groups: ['db'], tags: ['x'] },
        } as Resource),
      ].map(viewOf),
      before,
      { prune: false },
    );
    expect(plan.changes).toHaveLength(1);
    expect(
      blastRadius(plan, () => {
        throw new Error('read');
      }),
    ).toEqual({ site: 0, groups: 0, policy: 0, relays: [] });
  });
});
