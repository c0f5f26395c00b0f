import { describe, expect, it } from 'vitest';
import { danglingReferences } from '../../src/engine/kept-references.js';
import type { Plan } from '../../src/engine/plan.js';
import { ReferenceIndex, type ResourceRefs } from '../../src/resources/cross-references.js';

/** References resolved against what the database holds as well as the input (issue 10, item 0). */
const check = (declared: ResourceRefs[], stored?: ResourceRefs[]) => {
  const index = new ReferenceIndex<string>((ref) => ref, stored);
  for (const refs of declared) index.add({ ...refs }, `${refs.kind}/${refs.name}`);
  return index.check().map((p) => `${p.ref}: ${p.message}`);
};

describe('ReferenceIndex with stored resources', () => {
  const stored: ResourceRefs[] = [
    { kind: 'Site', name: 'alpha' },
    { kind: 'Policy', name: 'base' },
    { kind: 'DeviceGroup', name: 'web', site: 'alpha', parent: 'linux' },
    { kind: 'DeviceGroup', name: 'linux', policy: 'base' },
    { kind: 'Device', name: 'stored-1', site: 'alpha', groups: ['web'] },
  ];

  it('resolves a declared resource against stored ones', () => {
    expect(check([{ kind: 'Device', name: 'd', site: 'alpha', groups: ['web'] }], stored)).toEqual([]);
  });

  it('says the database was searched too when a reference is missing', () => {
    expect(check([{ kind: 'Device', name: 'd', site: 'alpah' }], stored)).toEqual([
      'Device/d: site "alpah" is not declared in the input nor in the database; did you mean "alpha"?',
    ]);
    expect(check([{ kind: 'Device', name: 'd', site: 'alpah' }])).toEqual([
      'Device/d: site "alpah" is not declared',
    ]);
  });

  it('a declaration replaces its stored self', () => {
    // Declared again as scoped to beta: the stored device of alpha in it is now out of scope.
    expect(
      check(
        [
          { kind: 'Site', name: 'beta' },
          { kind: 'DeviceGroup', name: 'web', site: 'beta', parent: 'linux' },
        ],
        stored,
      ),
    ).toEqual([
      'DeviceGroup/web: device "stored-1" in the database is in this group and in site "alpha", so the group cannot be scoped to "beta"',
    ]);
  });

  it('finds a cycle through stored and declared groups, at the declared one', () => {
    expect(check([{ kind: 'DeviceGroup', name: 'linux', parent: 'web', site: 'alpha' }], stored)).toEqual([
      'DeviceGroup/linux: group parents form a cycle: linux -> web -> linux',
    ]);
  });

  it('stored groups under a declared parent must keep fitting its scope', () => {
    expect(
      check(
        [{ kind: 'DeviceGroup', name: 'linux', site: 'alpha' }],
        [...stored, { kind: 'DeviceGroup', name: 'db', parent: 'linux' }],
      ),
    ).toEqual([
      'DeviceGroup/linux: group "db" in the database has this group as its parent and is global, so this group cannot be scoped to "alpha"',
    ]);
  });
});

describe('danglingReferences', () => {
  const plan = (deletes: string[]): Plan => ({
    scope: { set: 'default', prune: [] },
    changes: deletes.map((d) => {
      const [kind, name] = d.split('/') as [Plan['changes'][number]['kind'], string];
      return { action: 'delete', kind, name, fields: [] };
    }),
    undeclared: [],
    conflicts: [],
    unowned: 0,
    summary: { add: 0, change: 0, destroy: deletes.length },
  });
  const stored: ResourceRefs[] = [
    { kind: 'Device', name: 'd1', site: 'alpha', groups: ['web'] },
    { kind: 'DeviceGroup', name: 'web', parent: 'linux', policy: 'base' },
  ];

  it('finds kept resources that name a destroyed site, group or policy', () => {
    expect(
      danglingReferences(plan(['Site/alpha', 'Policy/base']), stored, () => []).map(
        (d) => `${d.referrer.name} -> ${d.target.kind}/${d.target.name} (${d.field})`,
      ),
    ).toEqual(['d1 -> Site/alpha (site)', 'web -> Policy/base (policy)']);
  });

  it('ignores referrers destroyed by the same plan, and prefers the declared version of a resource', () => {
    expect(danglingReferences(plan(['Site/alpha', 'Device/d1']), stored, () => [])).toEqual([]);
    const declared = [{ kind: 'Device' as const, name: 'd1', site: 'beta' }];
    expect(danglingReferences(plan(['Site/alpha']), stored, () => declared)).toEqual([]);
    expect(danglingReferences(plan(['DeviceGroup/web']), stored, () => [])).toMatchObject([
      { referrer: { name: 'd1', declared: false }, field: 'groups' },
    ]);
  });
});
