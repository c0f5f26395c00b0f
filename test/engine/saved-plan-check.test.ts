import { describe, expect, it } from 'vitest';
import { computePlan } from '../../src/engine/plan.js';
import { viewOf } from '../../src/engine/resource-view.js';
import { toSavedPlan } from '../../src/engine/saved-plan.js';
import { rederiveSavedPlan } from '../../src/engine/saved-plan-check.js';
import type { Resource } from '../../src/resources/kinds.js';

const device = {
  apiVersion: 'rmm/v1',
  kind: 'Device',
  metadata: { name: 'web-01', labels: { env: 'prod', role: 'web', tier: 'front' } },
  spec: { site: 'main', os: 'linux', customFields: { rack: 'R1', owner: 'ops' } },
} as unknown as Resource;
const scope = { set: 'default', prune: [{ key: 'f.yaml', folder: false, recursive: false }] };

/** The same value with every object's keys in the opposite order: equal content, other text. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reversed(v)]),
  );
}

describe('a saved plan derived again', () => {
  const plan = computePlan([{ ...viewOf(device), source: 'f.yaml' }], [], {
    prune: false,
    scope,
    takeOver: false,
  });
  const saved = () =>
    JSON.parse(
      JSON.stringify(
        toSavedPlan(plan, 1, [], { prune: false, takeOver: false, allowUnknownTransports: false }),
      ),
    );

  it('agrees with the file as written', () => {
    expect(rederiveSavedPlan(saved(), [], []).problems).toEqual([]);
  });

  it('agrees when the fields shown hold the same maps in another key order (compared by content)', () => {
    const file = saved();
    file.changes = file.changes.map((c: { fields: unknown }) => ({ ...c, fields: reversed(c.fields) }));
    expect(JSON.stringify(file.changes)).not.toBe(JSON.stringify(saved().changes));
    expect(rederiveSavedPlan(file, [], []).problems).toEqual([]);
  });

  it('still refuses fields whose content differs', () => {
    const file = saved();
    file.changes[0].fields = reversed(file.changes[0].fields);
    const text = JSON.stringify(file.changes[0].fields).replace('"R1"', '"R9"');
    file.changes[0].fields = JSON.parse(text);
    expect(rederiveSavedPlan(file, [], []).problems).toEqual([
      'Device/web-01: the fields shown are not what its desired state changes',
    ]);
  });
});
