import { describe, expect, it } from 'vitest';
import { computePlan, type StoredResource } from '../../src/engine/plan.js';
import { viewOf } from '../../src/engine/resource-view.js';
import type { Resource } from '../../src/resources/kinds.js';
import { planLines } from '../../src/views/plan.js';
import { LIST_AT_MOST } from '../../src/views/plan-summary.js';

const device = (name: string, site: string, owner = 'a'): Resource =>
  ({
    apiVersion: 'rmm/v1',
    kind: 'Device',
    metadata: { name },
    spec: { site, os: 'linux', customFields: { owner } },
  }) as unknown as Resource;
const group = (name: string): Resource =>
  ({ apiVersion: 'rmm/v1', kind: 'DeviceGroup', metadata: { name }, spec: {} }) as unknown as Resource;
const scope = { set: 'default', prune: [{ key: 'f.yaml', folder: false, recursive: false }] };
const declared = (r: Resource) => ({ ...viewOf(r), source: 'f.yaml' });
const stored = (r: Resource, managed = true): StoredResource => ({
  ...viewOf(r),
  managed,
  ...(managed ? { owner: { set: 'default', source: 'f.yaml' } } : {}),
});
const name = (i: number) => `dev-${String(i).padStart(5, '0')}`;
const text = (plan: ReturnType<typeof computePlan>, full = false) =>
  [...planLines(plan, false, undefined, [], undefined, undefined, full)].join('\n');

describe('a large plan on a terminal or in a pipe', () => {
  // 600 creates in sites alpha (400) and beta (200), 3 updates (one of them adopts a row rmm did not
  // create, one puts back drift), 2 groups: more than LIST_AT_MOST changes.
  const wanted = [
    ...Array.from({ length: 600 }, (_, i) => declared(device(name(i), i < 400 ? 'alpha' : 'beta'))),
    ...[600, 601, 602].map((i) => declared(device(name(i), 'alpha', 'new'))),
    declared(group('g1')),
    declared(group('g2')),
  ];
  const have = [
    stored(device(name(600), 'alpha')),
    stored(device(name(601), 'alpha'), false),
    { ...stored(device(name(602), 'alpha')), drifted: true },
  ];
  const plan = computePlan(wanted, have, { prune: false, scope, takeOver: false });

  it('is counted per action, kind and site, with the marks a reviewer must not miss', () => {
    expect(plan.changes.length).toBeGreaterThan(LIST_AT_MOST);
    const lines = text(plan).split('\n');
    expect(lines).toContain(
      '605 changes, counted per kind and site (more than 500: --full lists each; --json and --out always hold every change):',
    );
    const counted = lines.slice(lines.findIndex((l) => l.startsWith('  + create Device')));
    expect(counted.slice(0, 9)).toEqual([
      '  + create Device: 600',
      '      site alpha: 400',
      '      site beta: 200',
      '  + create DeviceGroup: 2',
      '  ~ update Device: 3',
      '      site alpha: 3',
      '  of which: 1 adopt existing rows rmm did not create, 1 put back values changed outside rmm (drift)',
      '',
      'Plan: 602 to add, 3 to change, 0 to destroy.',
    ]);
    expect(text(plan)).not.toContain('Device/dev-00001');
  });

  it('is listed in full with --full, as a small plan always is', () => {
    const full = text(plan, true);
    for (let i = 0; i < 603; i++)
      expect(full).toContain(`  + Device/${name(i)}`.replace('+', i < 600 ? '+' : '~'));
    expect(full).not.toContain('counted per kind and site');
    const small = computePlan(wanted.slice(0, LIST_AT_MOST), [], { prune: false, scope, takeOver: false });
    expect(text(small)).toContain(`  + Device/${name(LIST_AT_MOST - 1)}`);
    expect(text(small)).not.toContain('counted per kind and site');
  });

  it('counts a long list of resources no longer declared per kind, and --full lists them', () => {
    const gone = Array.from({ length: LIST_AT_MOST + 1 }, (_, i) => stored(device(name(i), 'alpha')));
    const kept = computePlan([], gone, { prune: false, scope, takeOver: false });
    expect(kept.undeclared).toHaveLength(LIST_AT_MOST + 1);
    expect(text(kept)).toContain(
      'No longer declared (kept; apply with --prune to destroy):\n  Device: 501\n  (--full lists each one)',
    );
    expect(text(kept)).not.toContain(`Device/${name(0)}`);
    expect(text(kept, true)).toContain(`  Device/${name(LIST_AT_MOST)}`);
  });
});
