import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { computePlan, everyField, imageOfChange, type ResourceChange } from '../../src/engine/plan.js';
import { redactFieldChanges, SENSITIVE } from '../../src/engine/redact.js';
import { type ResourceView, viewOf } from '../../src/engine/resource-view.js';
import { imageOf } from '../../src/formats/row-image.js';
import type { Resource } from '../../src/resources/kinds.js';
import { readStoredResources, writeChanges } from '../../src/state/resource-store.js';
import { consoleDatabase } from '../helpers/console-db.js';

const REF = 'env:RMM_SSH_KEY';
const scope = { set: 'default', prune: [] };

const site = { apiVersion: 'rmm/v1', kind: 'Site', metadata: { name: 'alpha' }, spec: {} } as Resource;
const device = (owner: string) =>
  ({
    apiVersion: 'rmm/v1',
    kind: 'Device',
    metadata: { name: 'web-01', labels: { role: 'web' } },
    spec: {
      address: '10.0.0.1',
      site: 'alpha',
      os: 'linux',
      transport: { type: 'ssh', user: 'rmm', credentialRef: REF },
      customFields: { owner },
    },
  }) as Resource;

const desired = (...resources: Resource[]) => resources.map((r) => ({ ...viewOf(r), source: 'fleet.yaml' }));

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function database() {
  dir = mkdtempSync(path.join(tmpdir(), 'rmm-write-changes-'));
  return consoleDatabase(path.join(dir, 'devices.db'));
}

function audit(db: ReturnType<typeof database>): Array<{ Action: string; Details: Record<string, unknown> }> {
  return (
    db.prepare('SELECT Action, Details FROM AuditLog ORDER BY LogId').all() as Array<{
      Action: string;
      Details: string;
    }>
  ).map((row) => ({ Action: row.Action, Details: JSON.parse(row.Details) as Record<string, unknown> }));
}

describe('a create in a plan', () => {
  it('has every desired field as its fields, as an own property that JSON and copies keep', () => {
    const plan = computePlan(desired(device('team-a')), [], { prune: false, scope });
    const change = plan.changes[0] as ResourceChange;
    const expected = everyField(change.desired ?? {});
    expect(change.fields).toEqual(expected);
    expect(expected.map((f) => f.path[0])).toContain('transport');
    expect(JSON.parse(JSON.stringify(change)).fields).toEqual(JSON.parse(JSON.stringify(expected)));
    expect({ ...change }.fields).toEqual(expected);
  });

  it('keeps the image apply writes beside its fields, out of JSON and copies', () => {
    const [view] = desired(device('team-a'));
    const image = imageOf('Device', view?.fields ?? {});
    const plan = computePlan([{ ...(view as ResourceView), image }], [], { prune: false, scope });
    const change = plan.changes[0] as ResourceChange;
    expect(imageOfChange(change)).toBe(image);
    expect(imageOfChange({ ...change })).toBeUndefined();
    expect(Object.keys(JSON.parse(JSON.stringify(change)))).toEqual([
      'action',
      'kind',
      'name',
      'fields',
      'desired',
      'source',
    ]);
  });
});

describe('writeChanges', () => {
  it("records a create's declared fields in AuditLog, masked as plans mask them, and an update's diff", () => {
    const db = database();
    try {
      const created = computePlan(desired(site, device('team-a')), [], { prune: false, scope });
      db.transaction(() => writeChanges(db, created, 'tester'))();
      const createdDevice = created.changes.find((c) => c.kind === 'Device') as ResourceChange;
      // What auditDetails wrote before a create's audit was built from its desired state directly.
      const shown = redactFieldChanges('Device', createdDevice.fields);
      const expected = Object.fromEntries(shown.map((f) => [f.path.join('.'), f.after ?? null]));
      const rows = audit(db);
      expect(rows.map((r) => r.Action)).toEqual(['apply.create Site/alpha', 'apply.create Device/web-01']);
      expect(rows[1]?.Details).toEqual({ created: expected, source: 'fleet.yaml', applySet: 'default' });
      expect(rows[1]?.Details.created).toMatchObject({
        transport: { type: 'ssh', user: 'rmm', credentialRef: SENSITIVE },
      });
      expect(JSON.stringify(rows)).not.toContain(REF);

      const stored = readStoredResources(db);
      const updated = computePlan(desired(site, device('team-b')), stored, { prune: false, scope });
      db.transaction(() => writeChanges(db, updated, 'tester'))();
      expect(audit(db)[2]).toEqual({
        Action: 'apply.update Device/web-01',
        Details: {
          fields: [{ path: ['customFields', 'owner'], before: 'team-a', after: 'team-b' }],
          source: 'fleet.yaml',
          applySet: 'default',
        },
      });
    } finally {
      db.close();
    }
  });
});
