import { describe, expect, it } from 'vitest';
import { blastRadius } from '../../src/engine/blast-radius.js';
import { diffFields, type FieldChange } from '../../src/engine/field-diff.js';
import { computePlan, type StoredResource } from '../../src/engine/plan.js';
import { type Fields, viewOf } from '../../src/engine/resource-view.js';
import type { Resource } from '../../src/resources/kinds.js';
import { renderPlan } from '../../src/views/plan.js';

const device = (name: string, spec: Record<string, unknown> = {}): Resource =>
  ({
    apiVersion: 'rmm/v1',
    kind: 'Device',
    metadata: { name },
    spec: { site: 'alpha', ...spec },
  }) as Resource;
const site = (name: string, spec: Record<string, unknown> = {}): Resource =>
  ({ apiVersion: 'rmm/v1', kind: 'Site', metadata: { name }, spec }) as Resource;
const OWNER = { set: 'default', source: 'f.yaml' };
/** A stored row; a managed one owned by the default set, from f.yaml, unless told otherwise. */
const stored = (
  resource: Resource,
  managed = true,
  owner: { set: string | null; source: string | null } = OWNER,
): StoredResource => ({ ...viewOf(resource), managed, ...(managed ? { owner } : {}) });
/** Planning the files f.yaml (and g.yaml) as the default set, or as `set`. */
const scope = (set = 'default', files = ['f.yaml', 'g.yaml']) => ({
  set,
  prune: files.map((key) => ({ key, folder: false, recursive: false })),
});
const from = (resource: Resource, source: string) => ({ ...viewOf(resource), source });

describe('diffFields', () => {
  it.each<{ name: string; before: Fields; after: Fields; expected: FieldChange[] }>([
    { name: 'equal', before: { a: 1 }, after: { a: 1 }, expected: [] },
    { name: 'a scalar', before: { a: 1 }, after: { a: 2 }, expected: [{ path: ['a'], before: 1, after: 2 }] },
    {
      name: 'a nested map key, not the whole map',
      before: { customFields: { rack: 'R1', owner: 'x' } },
      after: { customFields: { rack: 'R2', owner: 'x' } },
      expected: [{ path: ['customFields', 'rack'], before: 'R1', after: 'R2' }],
    },
    {
      name: 'a key added to a map',
      before: { labels: {} },
      after: { labels: { env: 'prod' } },
      expected: [{ path: ['labels', 'env'], before: undefined, after: 'prod' }],
    },
    {
      name: 'a field inside a list of maps of the same length',
      before: { monitors: [{ name: 'cpu', when: { op: '>', value: 90 } }] },
      after: { monitors: [{ name: 'cpu', when: { op: '>', value: 95 } }] },
      expected: [{ path: ['monitors', 0, 'when', 'value'], before: 90, after: 95 }],
    },
    {
      name: 'a list of scalars, whole',
      before: { groups: ['a'] },
      after: { groups: ['a', 'b'] },
      expected: [{ path: ['groups'], before: ['a'], after: ['a', 'b'] }],
    },
    {
      name: 'map key order does not matter',
      before: { m: { a: 1, b: 2 } },
      after: { m: { b: 2, a: 1 } },
      expected: [],
    },
    {
      name: 'list order does',
      before: { t: ['a', 'b'] },
      after: { t: ['b', 'a'] },
      expected: [{ path: ['t'], before: ['a', 'b'], after: ['b', 'a'] }],
    },
  ])('$name', ({ before, after, expected }) => {
    expect(diffFields(before, after)).toEqual(expected);
  });
});

describe('computePlan', () => {
  it('creates what is declared and not stored, parents first', () => {
    const plan = computePlan([viewOf(device('web-01')), viewOf(site('alpha'))], [], { prune: false });
    expect(plan.changes.map((c) => `${c.action} ${c.kind}/${c.name}`)).toEqual([
      'create Site/alpha',
      'create Device/web-01',
    ]);
    expect(plan.summary).toEqual({ add: 2, change: 0, destroy: 0 });
  });

  it('is empty when stored equals declared', () => {
    const plan = computePlan([viewOf(device('web-01'))], [stored(device('web-01'))], { prune: false });
    expect(plan.changes).toEqual([]);
  });

  it('updates only the fields that differ, and defaults fill in (hostname = name)', () => {
    const plan = computePlan(
      [viewOf(device('web-01', { customFields: { rack: 'R2' } }))],
      [stored(device('web-01', { customFields: { rack: 'R1' } }))],
      { prune: false },
    );
    expect(plan.changes).toEqual([
      {
        action: 'update',
        kind: 'Device',
        name: 'web-01',
        fields: [{ path: ['customFields', 'rack'], before: 'R1', after: 'R2' }],
        desired: viewOf(device('web-01', { customFields: { rack: 'R2' } })).fields,
      },
    ]);
  });

  it('a field removed from YAML becomes null', () => {
    const plan = computePlan(
      [viewOf(device('web-01'))],
      [stored(device('web-01', { fqdn: 'w.example.com' }))],
      { prune: false },
    );
    expect(plan.changes[0]?.fields).toEqual([{ path: ['fqdn'], before: 'w.example.com', after: null }]);
  });

  it('adopts an existing row rmm did not create, even with no field change', () => {
    const plan = computePlan([viewOf(site('main'))], [stored(site('main'), false)], { prune: true });
    expect(plan.changes).toEqual([
      {
        action: 'update',
        kind: 'Site',
        name: 'main',
        fields: [],
        adopt: true,
        desired: viewOf(site('main')).fields,
      },
    ]);
  });

  it('without --prune lists managed resources no longer declared and destroys nothing', () => {
    const plan = computePlan([], [stored(device('old'))], { prune: false, scope: scope() });
    expect(plan.changes).toEqual([]);
    expect(plan.undeclared).toEqual([{ kind: 'Device', name: 'old' }]);
  });

  it('with --prune destroys them, children first', () => {
    const plan = computePlan([], [stored(site('alpha')), stored(device('old'))], {
      prune: true,
      scope: scope(),
    });
    expect(plan.changes.map((c) => `${c.action} ${c.kind}/${c.name}`)).toEqual([
      'delete Device/old',
      'delete Site/alpha',
    ]);
    expect(plan.summary.destroy).toBe(2);
  });

  it('never touches rows rmm does not manage, nor the default site', () => {
    const plan = computePlan([], [stored(device('hand-made'), false), stored(site('main'))], {
      prune: true,
      scope: scope(),
    });
    expect(plan.changes).toEqual([]);
    expect(plan.undeclared).toEqual([]);
  });

  it('prunes only members of its own set declared by the files it was given', () => {
    const plan = computePlan(
      [],
      [
        stored(device('mine')),
        stored(device('other-file'), true, { set: 'default', source: 'h.yaml' }),
        stored(device('other-set'), true, { set: 'blue', source: 'f.yaml' }),
        stored(device('in-folder'), true, { set: 'default', source: 'sites/alpha/d.yaml' }),
        stored(device('below-folder'), true, { set: 'default', source: 'sites/alpha/x/d.yaml' }),
        stored(device('legacy'), true, { set: null, source: null }),
      ],
      {
        prune: true,
        scope: {
          set: 'default',
          prune: [...scope().prune, { key: 'sites/alpha', folder: true, recursive: false }],
        },
      },
    );
    expect(plan.changes.map((c) => `${c.action} ${c.name}`)).toEqual(['delete mine', 'delete in-folder']);
    expect(plan.unowned).toBe(1);
  });

  it('without a scope prunes nothing', () => {
    const plan = computePlan([], [stored(device('old'))], { prune: true });
    expect(plan.changes).toEqual([]);
  });

  it('refuses to take over a resource another set owns, unless told to', () => {
    const theirs = stored(device('d'), true, { set: 'blue', source: 'b.yaml' });
    const refused = computePlan([from(device('d', { tags: ['x'] }), 'f.yaml')], [theirs], {
      prune: true,
      scope: scope('red'),
    });
    expect(refused.changes).toEqual([]);
    expect(refused.conflicts).toEqual([
      { kind: 'Device', name: 'd', owner: { set: 'blue', source: 'b.yaml' } },
    ]);
    const taken = computePlan([from(device('d'), 'f.yaml')], [theirs], {
      prune: true,
      scope: scope('red'),
      takeOver: true,
    });
    expect(taken.conflicts).toEqual([]);
    expect(taken.changes).toMatchObject([
      {
        action: 'update',
        name: 'd',
        fields: [],
        source: 'f.yaml',
        previousOwner: { set: 'blue', source: 'b.yaml' },
      },
    ]);
    expect(renderPlan(taken, false)).toContain('~ Device/d (taken over from apply set "blue", b.yaml)');
  });

  it('records a move between files, and an owner for rows applied before owners were recorded', () => {
    const plan = computePlan(
      [from(device('moved'), 'g.yaml'), from(device('legacy'), 'f.yaml'), from(device('same'), 'f.yaml')],
      [
        stored(device('moved')),
        stored(device('legacy'), true, { set: null, source: null }),
        stored(device('same')),
      ],
      { prune: true, scope: scope() },
    );
    expect(plan.changes.map((c) => [c.name, c.previousOwner])).toEqual([
      ['legacy', { set: null, source: null }],
      ['moved', OWNER],
    ]);
    const text = renderPlan(plan, false);
    expect(text).toContain('~ Device/moved (moves from f.yaml to g.yaml)');
    expect(text).toContain('~ Device/legacy (owner recorded: f.yaml, set "default")');
  });

  it('counts devices changing site or groups', () => {
    const plan = computePlan(
      [viewOf(device('a', { site: 'beta' })), viewOf(device('b', { groups: ['x'] }))],
      [stored(device('a')), stored(device('b'))],
      { prune: false },
    );
    expect(blastRadius(plan, () => [stored(device('a')), stored(device('b'))])).toMatchObject({
      site: 1,
      groups: 1,
    });
  });
});

describe('renderPlan', () => {
  it('states the blast radius when there is one', () => {
    const plan = computePlan([viewOf(device('a', { site: 'beta' }))], [stored(device('a'))], {
      prune: false,
    });
    expect(renderPlan(plan, false, { site: 1, groups: 0, policy: 0 })).toContain(
      '\nDevices affected: 1 change site, 0 change groups, 0 change effective policy.\n',
    );
    expect(renderPlan(plan, false, { site: 0, groups: 0, policy: 0 })).not.toContain('Devices affected');
  });

  it('shows +, ~ and - with fields (unset ones hidden for + and -) and the summary line', () => {
    const plan = computePlan(
      [viewOf(site('alpha', { timezone: 'UTC' })), viewOf(device('web-01', { tags: ['prod'] }))],
      [stored(device('web-01')), stored(device('old'))],
      { prune: true, scope: scope() },
    );
    expect(renderPlan(plan, false)).toBe(
      [
        'Apply set "default"; prune scope: f.yaml, g.yaml',
        '  + Site/alpha',
        '      displayName: "alpha"',
        '      timezone: "UTC"',
        '  ~ Device/web-01',
        '      tags: [] -> ["prod"]',
        '  - Device/old',
        '      hostname: "old"',
        '      site: "alpha"',
        '',
        'Plan: 1 to add, 1 to change, 1 to destroy.',
      ].join('\n'),
    );
  });
});
