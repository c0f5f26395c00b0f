import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoredResource } from '../../src/engine/plan.js';
import { viewOf } from '../../src/engine/resource-view.js';
import { toResource } from '../../src/engine/to-resource.js';
import { commitPlan, planAgainst } from '../../src/reconcile.js';
import type { Resource } from '../../src/resources/kinds.js';
import { type Db, openDatabase } from '../../src/state/connection.js';
import { loadDeclaredSchema } from '../../src/state/declared-schema.js';
import { applyMigration } from '../../src/state/migrate.js';
import { pendingMigration } from '../../src/state/pending-migration.js';
import { imageOf } from '../../src/state/resource-rows.js';
import { readStoredResources } from '../../src/state/resource-store.js';
import type { DeclaredResource } from '../../src/validate.js';

/**
 * Random sequences of desired states (creates, renames, nested edits, group moves, removals with and
 * without --prune) applied to one real database. After every step: apply did exactly what the plan
 * said, a second plan is empty, exporting gives back the desired state, and observed fields written
 * between steps survive.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-property-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NAMES = ['a', 'b', 'c', 'd', 'e'];
const SITES = ['main', 's1', 's2'];
const GROUPS = ['g1', 'g2', 'g3'];
const word = fc.constantFrom('x', 'y', 'R1', 'R2', 'web', 'db', 'ünï', '1');
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const device = fc.record({
  name: fc.constantFrom(...NAMES.map((n) => `dev-${n}`)),
  spec: fc.record({
    site: fc.constantFrom(...SITES),
    fqdn: maybe(fc.constantFrom('a.example.com', 'b.example.com')),
    address: maybe(fc.constantFrom('10.0.0.1', '::1')),
    groups: maybe(fc.uniqueArray(fc.constantFrom(...GROUPS), { maxLength: 3 })),
    os: maybe(fc.constantFrom('linux', 'windows', 'macos')),
    transport: maybe(
      fc.record(
        { type: fc.constantFrom('ssh', 'winrm'), port: maybe(fc.integer({ min: 1, max: 65535 })) },
        { requiredKeys: ['type'] },
      ),
    ),
    tags: maybe(fc.uniqueArray(word, { maxLength: 3 })),
    customFields: maybe(
      fc.dictionary(fc.constantFrom('rack', 'owner', 'n'), fc.oneof(word, fc.integer(), fc.boolean())),
    ),
  }),
  labels: maybe(fc.dictionary(fc.constantFrom('env', 'role'), word)),
});
const site = fc.record({
  name: fc.constantFrom('s1', 's2', 's3'),
  spec: fc.record({
    displayName: maybe(word),
    timezone: maybe(fc.constantFrom('UTC', 'Europe/London')),
    location: maybe(word),
  }),
  labels: maybe(fc.dictionary(fc.constantFrom('region'), word)),
});
const group = fc.record({
  name: fc.constantFrom(...GROUPS),
  spec: fc.record({
    description: maybe(word),
    parent: maybe(fc.constantFrom(...GROUPS)),
    policy: maybe(fc.constantFrom('p1', 'p2')),
  }),
  labels: fc.constant(undefined),
});
const policy = fc.record({
  name: fc.constantFrom('p1', 'p2'),
  spec: fc.record({
    description: maybe(word),
    monitors: maybe(
      fc.array(
        fc.record({
          name: fc.constantFrom('cpu', 'disk'),
          metric: fc.constantFrom('cpu.percent', 'disk.used_percent'),
          when: fc.record({ op: fc.constantFrom('>', '>='), value: fc.integer({ min: 0, max: 100 }) }),
          severity: fc.constantFrom('Warning', 'Critical'),
        }),
        { maxLength: 2 },
      ),
    ),
  }),
  labels: fc.constant(undefined),
});

type Doc = { name: string; spec: Record<string, unknown>; labels: Record<string, string> | undefined };
const toDoc =
  (kind: Resource['kind']) =>
  (d: Doc): Resource => {
    const spec = Object.fromEntries(Object.entries(d.spec).filter(([, v]) => v !== undefined));
    const metadata = d.labels ? { name: d.name, labels: d.labels } : { name: d.name };
    return { apiVersion: 'rmm/v1', kind, metadata, spec } as unknown as Resource;
  };
const uniqueByName = (docs: Resource[]) => [
  ...new Map(docs.map((d) => [`${d.kind}/${d.metadata.name}`, d])).values(),
];

const step = fc.record({
  resources: fc
    .tuple(
      fc.array(site, { maxLength: 3 }),
      fc.array(policy, { maxLength: 2 }),
      fc.array(group, { maxLength: 3 }),
      fc.array(device, { maxLength: 5 }),
    )
    .map(([s, p, g, d]) =>
      uniqueByName([
        ...s.map(toDoc('Site')),
        ...p.map(toDoc('Policy')),
        ...g.map(toDoc('DeviceGroup')),
        ...d.map(toDoc('Device')),
      ]),
    ),
  prune: fc.boolean(),
  status: fc.constantFrom('Online', 'Offline', 'Unknown'),
});

function freshDatabase(): Db {
  const db = openDatabase(path.join(dir, `${Math.random().toString(36).slice(2)}.db`));
  applyMigration(db, pendingMigration(db, loadDeclaredSchema()).plan, { allowDestructive: false });
  return db;
}

const key = (r: { kind: string; name: string }) => `${r.kind}/${r.name}`;
const managedByKey = (db: Db) =>
  new Map(
    readStoredResources(db)
      .filter((r) => r.managed)
      .map((r) => [key(r), { kind: r.kind, name: r.name, fields: r.fields, managed: true }] as const),
  );
const sourced = (resources: Resource[]): DeclaredResource[] =>
  resources.map((resource) => {
    const view = viewOf(resource);
    return {
      ...view,
      image: imageOf(view.kind, view.fields),
      source: { file: 'mem', text: '', firstLine: 0 },
    };
  });

describe('plan and apply, over random sequences of desired states', () => {
  it('apply does what the plan says; then plan is empty, export is the desired state, observed fields survive', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), (steps) => {
        const db = freshDatabase();
        try {
          for (const { resources, prune, status } of steps) {
            // Observed state, as a transport would write it.
            db.prepare('UPDATE Devices SET Status = ?, LastSeen = ?').run(status, `seen-${status}`);
            const before = managedByKey(db);
            const planned = planAgainst(db, sourced(resources), prune);
            commitPlan(db, planned, 'property-test', 1000, 'test.db');
            const after = managedByKey(db);

            // Exactly the plan's changes happened.
            const expected = new Map<string, StoredResource>(before);
            for (const change of planned.plan.changes) {
              if (change.action === 'delete') expected.delete(key(change));
              else
                expected.set(key(change), {
                  kind: change.kind,
                  name: change.name,
                  fields: change.desired ?? {},
                  managed: true,
                });
            }
            expect(after).toEqual(expected);

            // Declared resources are stored as declared; without --prune the undeclared are kept.
            const desired = resources.map(viewOf);
            for (const view of desired) expect(after.get(key(view))?.fields).toEqual(view.fields);
            if (prune) expect([...after.keys()].sort()).toEqual(desired.map(key).sort());

            // A second plan is empty.
            expect(planAgainst(db, sourced(resources), prune).plan.changes).toEqual([]);

            // Export round-trips: what it writes reads back as the same views.
            for (const view of after.values())
              expect(viewOf(toResource(view))).toEqual({
                kind: view.kind,
                name: view.name,
                fields: view.fields,
              });

            // Observed fields were not touched by apply.
            const observed = db.prepare('SELECT DISTINCT Status, LastSeen FROM Devices').all() as Array<{
              Status: string;
              LastSeen: string | null;
            }>;
            for (const row of observed) {
              // Rows created by this very apply have the column defaults; older rows keep what was written.
              expect([`${status}|seen-${status}`, 'Unknown|null']).toContain(`${row.Status}|${row.LastSeen}`);
            }
          }
        } finally {
          db.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
