import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { inScope, type Owner } from '../../src/engine/apply-set.js';
import type { DesiredResource, ResourceChange, StoredResource } from '../../src/engine/plan.js';
import { viewOf } from '../../src/engine/resource-view.js';
import { toResource } from '../../src/engine/to-resource.js';
import { imageOf } from '../../src/formats/row-image.js';
import { commitPlan } from '../../src/reconcile/apply.js';
import { planAgainst } from '../../src/reconcile/plan.js';
import { checkOwnership } from '../../src/reconcile/refusals.js';
import type { Resource } from '../../src/resources/kinds.js';
import { type Db, openDatabase } from '../../src/state/connection.js';
import { loadDeclaredSchema } from '../../src/state/declared-schema.js';
import { applyMigration } from '../../src/state/migrate.js';
import { pendingMigration } from '../../src/state/pending-migration.js';
import { readStoredResources } from '../../src/state/resource-store.js';
import {
  type ObservedState,
  observations,
  observedState,
  observedWriter,
} from '../helpers/observed-writer.js';

/**
 * Random sequences of desired states (creates, renames, nested edits, group moves, removals with and
 * without --prune), each applied by one of several apply sets from some of its files, in random
 * order, to one real database. After every step: apply did exactly what the plan said, prune removed
 * only members of the applying set declared by the files given, other sets' resources were neither
 * changed nor taken over (unless --take-over), a second plan is empty, exporting gives back the
 * desired state, and what rmm serve observed survives: a writer on a second connection, through
 * serve's own modules, writes Devices.Status and LastSeen, Metrics and Alerts rows before each plan
 * and again between the plan and its apply. Apply changes none of it, except that a device it
 * prunes takes its Metrics and Alerts rows along (those written after the plan too), as its
 * AuditLog row says.
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
    // Kept in ManagedResources.Settings, unlike the monitors' own intervals (in Policies.Monitors).
    interval: maybe(fc.constantFrom('30s', '5m')),
    monitors: maybe(
      fc.array(
        fc.record({
          name: fc.constantFrom('cpu', 'disk'),
          metric: fc.constantFrom('cpu.percent', 'disk.used_percent'),
          when: fc.record({ op: fc.constantFrom('>', '>='), value: fc.integer({ min: 0, max: 100 }) }),
          interval: maybe(fc.constantFrom('10s', '1h')),
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

const SETS = ['red', 'blue'];
const FILES = ['one.yaml', 'two.yaml', 'dir/three.yaml'];

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
  set: fc.constantFrom(...SETS),
  // The -f inputs: some files (a resource is declared by one of them); 'dir' stands for the folder.
  inputs: fc.uniqueArray(fc.constantFrom(...FILES, 'dir'), { minLength: 1, maxLength: 3 }),
  fileChoices: fc.array(fc.nat(), { minLength: 13, maxLength: 13 }),
  prune: fc.boolean(),
  takeOver: fc.boolean(),
  // What serve writes before the plan, and between the plan and the apply (for devices that may not exist).
  observedBefore: observations(NAMES.map((n) => `dev-${n}`)),
  observedDuring: observations(NAMES.map((n) => `dev-${n}`)),
});

function freshDatabase(): { db: Db; serve: Db } {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.db`);
  const db = openDatabase(file);
  applyMigration(db, pendingMigration(db, loadDeclaredSchema()).plan, { allowDestructive: false });
  return { db, serve: openDatabase(file) };
}

interface Managed {
  kind: StoredResource['kind'];
  name: string;
  fields: StoredResource['fields'];
  owner: Owner | undefined;
}
const key = (r: { kind: string; name: string }) => `${r.kind}/${r.name}`;
const managedByKey = (db: Db) =>
  new Map(
    readStoredResources(db)
      .filter((r) => r.managed)
      .map((r) => [key(r), { kind: r.kind, name: r.name, fields: r.fields, owner: r.owner }] as const),
  );
const scopeOf = (inputs: string[]) =>
  inputs.map((input) =>
    input === 'dir'
      ? { key: 'dir', folder: true, recursive: false }
      : { key: input, folder: false, recursive: false },
  );
/** The files a step's inputs name: each file given, and those in the folder given. */
const filesOf = (inputs: string[]) =>
  FILES.filter((f) => inputs.includes(f) || (inputs.includes('dir') && f.startsWith('dir/')));
const sourced = (resources: Resource[], files: string[], choices: number[]): DesiredResource[] =>
  resources.map((resource, i) => {
    const view = viewOf(resource);
    const source = files[(choices[i] ?? 0) % files.length] as string;
    return { ...view, image: imageOf(view.kind, view.fields), source };
  });

/**
 * Apply left what serve observed as it was: every device's Status and LastSeen, every Metrics and
 * Alerts row. A device it created has the column defaults and no rows; a device it pruned took its
 * rows along, all of them (written after the plan too), and its AuditLog row counts them.
 */
function expectObservedKept(db: Db, changes: readonly ResourceChange[], was: ObservedState): void {
  const now = observedState(db);
  const gone = new Set(
    changes.filter((c) => c.kind === 'Device' && c.action === 'delete').map((c) => c.name),
  );
  const created = new Set(
    changes.filter((c) => c.kind === 'Device' && c.action === 'create').map((c) => c.name),
  );
  const expectedDevices = new Map([...was.devices].filter(([name]) => !gone.has(name)));
  for (const name of created) expectedDevices.set(name, { Status: 'Unknown', LastSeen: null });
  expect(now.devices).toEqual(expectedDevices);
  const kept = (rows: ObservedState['metrics']) => rows.filter((r) => !gone.has(r.DeviceId as string));
  expect(now.metrics).toEqual(kept(was.metrics));
  expect(now.alerts).toEqual(kept(was.alerts));
  const audit = db.prepare('SELECT Details FROM AuditLog WHERE Action = ? ORDER BY LogId DESC LIMIT 1');
  for (const name of gone) {
    const count = (rows: ObservedState['metrics']) => rows.filter((r) => r.DeviceId === name).length;
    const expected = [
      { table: 'Alerts', rows: count(was.alerts) },
      { table: 'Metrics', rows: count(was.metrics) },
    ].filter((d) => d.rows > 0);
    const details = JSON.parse((audit.get(`apply.delete Device/${name}`) as { Details: string }).Details);
    expect(details.dependentsDeleted ?? []).toEqual(expected);
  }
}

describe('plan and apply, over random sequences of desired states from several apply sets', () => {
  it('apply does what the plan says, prunes only its own set and files; then plan is empty, export is the desired state, observed fields survive', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), (steps) => {
        const { db, serve } = freshDatabase();
        const observe = observedWriter(serve);
        try {
          for (const step of steps) {
            const { resources, set, inputs, fileChoices, prune, takeOver } = step;
            observe(step.observedBefore);
            const before = managedByKey(db);
            const files = filesOf(inputs);
            const desired = sourced(resources, files, fileChoices);
            const options = { prune, takeOver, scope: { set, prune: scopeOf(inputs) } };
            const planned = planAgainst(db, desired, options);

            // A resource another set owns is a conflict, refused without --take-over.
            const foreign = desired.filter((d) => {
              const owner = before.get(key(d))?.owner;
              return owner?.set != null && owner.set !== set;
            });
            expect(planned.plan.conflicts.map(key).sort()).toEqual(takeOver ? [] : foreign.map(key).sort());
            if (planned.plan.conflicts.length > 0) {
              expect(() => checkOwnership(planned.plan)).toThrow(/owned by another apply set/);
              continue;
            }
            observe(step.observedDuring);
            const observedBefore = observedState(db);
            commitPlan(db, planned, 'property-test', 1000, 'test.db');
            const after = managedByKey(db);

            // Exactly the plan's changes happened, and each declared resource is now this set's, from its file.
            const declared = new Map(desired.map((d) => [key(d), d]));
            const expected = new Map<string, Managed>(before);
            for (const change of planned.plan.changes) {
              if (change.action === 'delete') expected.delete(key(change));
              else
                expected.set(key(change), {
                  kind: change.kind,
                  name: change.name,
                  fields: change.desired ?? {},
                  owner: { set, source: declared.get(key(change))?.source ?? null },
                });
            }
            expect(after).toEqual(expected);
            for (const view of desired) {
              expect(after.get(key(view))?.fields).toEqual(view.fields);
              expect(after.get(key(view))?.owner).toEqual({ set, source: view.source });
            }

            // Prune removed exactly the undeclared members of this set whose file is in scope.
            for (const [k, was] of before) {
              if (declared.has(k)) continue;
              const mine =
                was.owner?.set === set &&
                was.owner.source !== null &&
                inScope(options.scope.prune, was.owner.source);
              const protectedSite = k === 'Site/main';
              if (prune && mine && !protectedSite) expect(after.has(k)).toBe(false);
              else expect(after.get(k)).toEqual(was);
            }

            // A second plan is empty.
            expect(planAgainst(db, desired, options).plan.changes).toEqual([]);

            // Export round-trips: what it writes reads back as the same views.
            for (const view of after.values())
              expect(viewOf(toResource(view))).toEqual({
                kind: view.kind,
                name: view.name,
                fields: view.fields,
              });

            expectObservedKept(db, planned.plan.changes, observedBefore);
          }
        } finally {
          serve.close();
          db.close();
        }
      }),
      { numRuns: 80 },
    );
  });
});
