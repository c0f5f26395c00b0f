import { describe, expect, it } from 'vitest';
import type { FieldChange } from '../../src/engine/field-diff.js';
import { computePlan } from '../../src/engine/plan.js';
import { redactFieldChanges, redactFields, SENSITIVE, type SensitivePaths } from '../../src/engine/redact.js';
import { viewOf } from '../../src/engine/resource-view.js';
import type { Resource } from '../../src/resources/kinds.js';
import { sensitiveFieldPaths, sensitivePathsOf } from '../../src/resources/sensitive-fields.js';
import { renderPlan } from '../../src/views/plan.js';

const REF = 'env:RMM_SSH_KEY';

describe('sensitiveFieldPaths', () => {
  it('finds the x-sensitive markers of the schemas, through $refs', () => {
    expect(sensitiveFieldPaths()).toEqual({
      Relay: [['nats', 'credentialRef']],
      Site: [['defaults', 'transport', 'credentialRef']],
      Policy: [],
      DeviceGroup: [],
      Device: [['transport', 'credentialRef']],
      NotificationChannel: [
        ['webhook', 'url'],
        ['email', 'auth', 'password'],
      ],
      AlertRoute: [],
    });
  });

  it('follows lists and maps as "*"', () => {
    const schema = {
      properties: {
        spec: {
          properties: {
            keys: { type: 'array', items: { $ref: '#/$defs/key' } },
            vault: { type: 'object', additionalProperties: { type: 'string', 'x-sensitive': true } },
          },
        },
      },
      $defs: { key: { properties: { ref: { type: 'string', 'x-sensitive': true } } } },
    };
    expect(sensitivePathsOf(schema)).toEqual([
      ['keys', '*', 'ref'],
      ['vault', '*'],
    ]);
  });
});

describe('redactFieldChanges', () => {
  const device = (changes: FieldChange[]) => redactFieldChanges('Device', changes);

  it('masks a change at the sensitive field, keeping unset sides as they are', () => {
    expect(
      device([
        { path: ['transport', 'credentialRef'], before: REF, after: 'env:OTHER' },
        { path: ['transport', 'credentialRef'], before: undefined, after: REF },
        { path: ['transport', 'credentialRef'], before: REF, after: null },
      ]),
    ).toEqual([
      { path: ['transport', 'credentialRef'], before: SENSITIVE, after: SENSITIVE },
      { path: ['transport', 'credentialRef'], before: undefined, after: SENSITIVE },
      { path: ['transport', 'credentialRef'], before: SENSITIVE, after: null },
    ]);
  });

  it('masks the key inside a whole value that holds it, and leaves the rest of the value', () => {
    const before = { type: 'ssh', credentialRef: REF };
    const [masked] = device([{ path: ['transport'], before, after: null }]);
    expect(masked).toEqual({
      path: ['transport'],
      before: { type: 'ssh', credentialRef: SENSITIVE },
      after: null,
    });
    expect(before.credentialRef).toBe(REF);
    const [site] = redactFieldChanges('Site', [
      { path: ['defaults'], before: null, after: { transport: { user: 'rmm', credentialRef: REF } } },
    ]);
    expect(site?.after).toEqual({ transport: { user: 'rmm', credentialRef: SENSITIVE } });
  });

  it('leaves other fields and kinds alone (the same objects)', () => {
    const changes: FieldChange[] = [
      { path: ['transport', 'user'], before: 'a', after: 'b' },
      { path: ['customFields', 'credentialRef'], before: 'x', after: 'y' },
    ];
    expect(device(changes)).toEqual(changes);
    expect(device(changes)[0]).toBe(changes[0]);
  });

  it('matches "*" against list indexes and map keys', () => {
    const paths: SensitivePaths = {
      Relay: [],
      Site: [],
      Policy: [['schedules', '*', 'command']],
      DeviceGroup: [],
      Device: [],
      NotificationChannel: [],
      AlertRoute: [],
    };
    expect(
      redactFieldChanges(
        'Policy',
        [
          { path: ['schedules', 1, 'command'], before: 'a', after: 'b' },
          { path: ['schedules'], before: [], after: [{ action: 'exec', command: 'c' }] },
        ],
        paths,
      ),
    ).toEqual([
      { path: ['schedules', 1, 'command'], before: SENSITIVE, after: SENSITIVE },
      { path: ['schedules'], before: [], after: [{ action: 'exec', command: SENSITIVE }] },
    ]);
  });
});

describe('redactFields', () => {
  it('masks a desired state without touching the original', () => {
    const fields = viewOf({
      apiVersion: 'rmm/v1',
      kind: 'Device',
      metadata: { name: 'd' },
      spec: { site: 'alpha', transport: { type: 'ssh', credentialRef: REF } },
    } as Resource).fields;
    expect(redactFields('Device', fields).transport).toEqual({ type: 'ssh', credentialRef: SENSITIVE });
    expect(fields.transport).toEqual({ type: 'ssh', credentialRef: REF });
  });
});

describe('renderPlan', () => {
  it('never shows a sensitive value', () => {
    const want = (ref: string) =>
      ({
        apiVersion: 'rmm/v1',
        kind: 'Device',
        metadata: { name: 'web' },
        spec: { site: 'alpha', transport: { type: 'ssh', credentialRef: ref } },
      }) as Resource;
    const created = renderPlan(computePlan([viewOf(want(REF))], [], { prune: false }), false);
    expect(created).toContain('transport: {"type":"ssh","credentialRef":"(sensitive)"}');
    const updated = renderPlan(
      computePlan([viewOf(want('env:NEW'))], [{ ...viewOf(want(REF)), managed: true }], { prune: false }),
      false,
    );
    expect(updated).toContain('transport.credentialRef: (sensitive) -> (sensitive)');
    expect(created + updated).not.toMatch(/RMM_SSH_KEY|env:NEW/);
  });
});
