import type { Config } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import { TRANSPORT_API_VERSION } from '../../src/plugin/api.js';
import { loadTransports, transportChecks } from '../../src/transports/registry.js';
import { transportSalt } from '../../src/validate.js';

/**
 * oclif runs every plugin's rmm:transports hook at once and lists the results in the order they
 * completed. These registries stand for two runs whose hooks completed in opposite orders (the real
 * plugins' path is test/transport/plugins.test.ts; the CLI-level cache check is in
 * test/commands/check-cache-keys.test.ts): everything rmm derives from them must be the same.
 */
const transport = (name: string, schema: object) => ({
  apiVersion: TRANSPORT_API_VERSION,
  name,
  description: '',
  optionsSchema: schema,
  defaultPort: 1,
  batchSize: 1,
  capabilities: { powershell: false, fileTransfer: false, queued: false },
  connect: async () => ({}),
});
const hooks = [
  {
    plugin: { name: '@acme/alpha' },
    result: [transport('alpha', { type: 'object' }), transport('shared', {})],
  },
  {
    plugin: { name: '@acme/beta' },
    result: [transport('beta', { type: 'object', properties: {} }), transport('shared', { type: 'object' })],
  },
];
const completedIn = (order: typeof hooks) =>
  ({ runHook: async () => ({ successes: order, failures: [] }) }) as unknown as Config;

describe('transports from hooks that complete in either order', () => {
  it('are listed in the same order, and a name two plugins claim goes to the same one', async () => {
    const first = await loadTransports(completedIn(hooks));
    const second = await loadTransports(completedIn([...hooks].reverse()));
    const listed = (r: typeof first) => [...r.transports].map(([name, { plugin }]) => `${name} ${plugin}`);
    expect(listed(second)).toEqual(listed(first));
    expect(first.transports.get('shared')?.plugin).toBe('@acme/alpha');
    expect(second.refused).toEqual(first.refused);
  });

  it('give the same check cache key', async () => {
    const first = await transportChecks(completedIn(hooks), false, '/data');
    const second = await transportChecks(completedIn([...hooks].reverse()), false, '/data');
    expect(transportSalt(second)).toBe(transportSalt(first));
  });
});
