import { describe, expect, it } from 'vitest';
import { deviceRecordsOf } from '../../src/actions/targets.js';
import { blastRadius } from '../../src/engine/blast-radius.js';
import { computePlan, type StoredResource } from '../../src/engine/plan.js';
import type { RelayMove } from '../../src/engine/relay-moves.js';
import { viewOf } from '../../src/engine/resource-view.js';
import type { Resource } from '../../src/resources/kinds.js';
import { relayMoveLine } from '../../src/views/plan-relays.js';

/**
 * Which existing devices a plan moves to or from a relay, for each trigger: a site gaining or
 * losing its relay, a Relay created or destroyed, a device changing site or via (its own or its
 * site's default's). Computed from the stored and the planned device records, as deviceRecordsOf
 * routes them.
 */
const relay = (name: string): Resource =>
  ({
    apiVersion: 'rmm/v1',
    kind: 'Relay',
    metadata: { name },
    spec: { nats: { servers: ['tls://nats.example.net:4222'], credentialRef: 'env:RMM_NATS_PASSWORD' } },
  }) as Resource;
const site = (name: string, spec: Record<string, unknown> = {}): Resource =>
  ({ apiVersion: 'rmm/v1', kind: 'Site', metadata: { name }, spec }) as Resource;
const device = (name: string, siteName: string, transport?: Record<string, unknown>): Resource =>
  ({
    apiVersion: 'rmm/v1',
    kind: 'Device',
    metadata: { name },
    spec: { site: siteName, ...(transport ? { transport } : {}) },
  }) as Resource;
const stored = (resource: Resource): StoredResource => ({
  ...viewOf(resource),
  managed: true,
  owner: { set: 'default', source: 'all.yaml' },
});
const ALL = { set: 'default', prune: [{ key: 'all.yaml', folder: false, recursive: false }] };

function moves(before: Resource[], after: Resource[]) {
  const storedState = before.map(stored);
  const plan = computePlan(after.map(viewOf), storedState, { prune: true, scope: ALL });
  return blastRadius(plan, () => storedState).relays ?? [];
}
const replace = (list: Resource[], next: Resource) =>
  list.map((r) => (r.kind === next.kind && r.metadata.name === next.metadata.name ? next : r));

const ALPHA = [
  relay('relay-alpha'),
  relay('relay-beta'),
  site('alpha'),
  site('beta', { relay: 'relay-beta' }),
];
const DEVICES = [
  device('a-1', 'alpha'),
  device('a-2', 'alpha'),
  device('a-3', 'alpha'),
  device('b-1', 'beta'),
  device('b-2', 'beta'),
];

describe('deviceRecordsOf routes', () => {
  it('a device of a site with a declared relay goes through it, unless via: direct', () => {
    const records = deviceRecordsOf(
      [
        ...ALPHA,
        device('b-3', 'beta', { via: 'direct' }),
        device('b-4', 'beta', { via: 'relay' }),
        ...DEVICES,
      ].map(viewOf),
    );
    const route = Object.fromEntries(records.map((r) => [r.name, r.queue]));
    expect(route).toEqual({
      'b-3': null,
      'b-4': { transport: 'relay', route: 'relay-beta' },
      'a-1': null,
      'a-2': null,
      'a-3': null,
      'b-1': { transport: 'relay', route: 'relay-beta' },
      'b-2': { transport: 'relay', route: 'relay-beta' },
    });
    // via stays in the block (rmm get devices shows it); the runner strips it before the plugin.
    expect(records[0]?.transport).toEqual({ type: 'ssh', via: 'direct' });
  });

  it("a site's default via applies to its devices of that type, and a site naming no existing relay routes none", () => {
    const records = deviceRecordsOf(
      [
        relay('relay-beta'),
        site('beta', { relay: 'relay-beta', defaults: { transport: { type: 'ssh', via: 'direct' } } }),
        site('gamma', { relay: 'relay-gamma' }),
        device('ssh-1', 'beta'),
        device('win-1', 'beta', { type: 'winrm' }),
        device('g-1', 'gamma'),
      ].map(viewOf),
    );
    expect(records.map((r) => [r.name, r.queue?.route ?? null])).toEqual([
      ['ssh-1', null],
      ['win-1', 'relay-beta'],
      ['g-1', null],
    ]);
  });
});

describe('relayMoves (plan)', () => {
  const before = [...ALPHA, ...DEVICES];

  it('a site gaining a relay moves its devices to it, naming them', () => {
    const result = moves(before, replace(before, site('alpha', { relay: 'relay-alpha' })));
    expect(result).toEqual([{ from: null, to: 'relay-alpha', count: 3, devices: ['a-1', 'a-2', 'a-3'] }]);
    expect(relayMoveLine(result[0] as RelayMove)).toBe('3 devices move to relay relay-alpha: a-1, a-2, a-3');
  });

  it('a site losing its relay moves its devices to direct', () => {
    const result = moves(before, replace(before, site('beta')));
    expect(result).toEqual([{ from: 'relay-beta', to: null, count: 2, devices: ['b-1', 'b-2'] }]);
    expect(relayMoveLine(result[0] as RelayMove)).toBe(
      '2 devices move from relay relay-beta to direct: b-1, b-2',
    );
  });

  it('a site switching relays moves its devices from one to the other', () => {
    const result = moves(before, replace(before, site('beta', { relay: 'relay-alpha' })));
    expect(result).toEqual([{ from: 'relay-beta', to: 'relay-alpha', count: 2, devices: ['b-1', 'b-2'] }]);
  });

  it('a Relay created for a site that already named it moves the site’s devices', () => {
    const named = [site('gamma', { relay: 'relay-gamma' }), device('g-1', 'gamma'), device('g-2', 'gamma')];
    expect(moves(named, [relay('relay-gamma'), ...named])).toEqual([
      { from: null, to: 'relay-gamma', count: 2, devices: ['g-1', 'g-2'] },
    ]);
  });

  it('a Relay destroyed with the site that named it dropping it moves the devices to direct', () => {
    const after = replace(before, site('beta')).filter((r) => r.metadata.name !== 'relay-beta');
    expect(moves(before, after)).toEqual([
      { from: 'relay-beta', to: null, count: 2, devices: ['b-1', 'b-2'] },
    ]);
  });

  it('a device changing site, or its own via, moves alone', () => {
    expect(moves(before, replace(before, device('a-1', 'beta')))).toEqual([
      { from: null, to: 'relay-beta', count: 1, devices: ['a-1'] },
    ]);
    const result = moves(before, replace(before, device('b-1', 'beta', { via: 'direct' })));
    expect(result).toEqual([{ from: 'relay-beta', to: null, count: 1, devices: ['b-1'] }]);
    expect(relayMoveLine(result[0] as RelayMove)).toBe('1 device moves from relay relay-beta to direct: b-1');
  });

  it("a site's default via moves its devices of that type", () => {
    const after = replace(
      before,
      site('beta', { relay: 'relay-beta', defaults: { transport: { via: 'direct' } } }),
    );
    expect(moves(before, after)).toEqual([
      { from: 'relay-beta', to: null, count: 2, devices: ['b-1', 'b-2'] },
    ]);
  });

  it('changes that keep every route move nothing; created and destroyed devices are not moves', () => {
    expect(moves(before, replace(before, site('alpha', { location: 'Chicago' })))).toEqual([]);
    const after = [...before.filter((r) => r.metadata.name !== 'b-1'), device('b-9', 'beta')];
    expect(moves(before, after)).toEqual([]);
  });

  it('names the devices only when few', () => {
    const many = Array.from({ length: 25 }, (_, i) => device(`d-${String(i).padStart(2, '0')}`, 'alpha'));
    const result = moves(
      [...ALPHA, ...many],
      [...replace(ALPHA, site('alpha', { relay: 'relay-alpha' })), ...many],
    );
    expect(result[0]?.count).toBe(25);
    expect(result[0]?.devices).toHaveLength(20);
    expect(relayMoveLine(result[0] as RelayMove)).toBe('25 devices move to relay relay-alpha');
  });
});
