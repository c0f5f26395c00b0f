import { describe, expect, it } from 'vitest';
import type { QueueRouteConfig } from '../../src/transports/queue-routes.js';
import { authorizationInput } from '../../src/transports/relay-authorization-input.js';

/** Who `rmm relay config` grants what, from the declared routes. */
const routes = (...list: Array<[string, Record<string, unknown>]>) =>
  new Map<string, QueueRouteConfig>(
    list.map(([name, options]) => [
      name,
      { transport: 'relay', name, options: { servers: ['tls://n:4222'], ...options }, expirySeconds: 86_400 },
    ]),
  );

describe('rmm relay config: who is granted what', () => {
  it('grants each relay by its name, and the console its declared user (default rmm-console)', () => {
    expect(authorizationInput(routes(['relay-alpha', {}], ['relay-beta', {}]), undefined)).toEqual({
      consoleUser: 'rmm-console',
      relays: ['relay-alpha', 'relay-beta'],
    });
    expect(authorizationInput(routes(['relay-alpha', { user: 'console-eu' }]), undefined).consoleUser).toBe(
      'console-eu',
    );
    expect(authorizationInput(routes(['relay-alpha', { user: 'console-eu' }]), 'ops').consoleUser).toBe(
      'ops',
    );
  });

  it.each([
    [routes(), undefined, 'no Relay is declared in this database'],
    [
      routes(['relay-alpha', { user: 'a' }], ['relay-beta', {}]),
      undefined,
      'the Relays name different console users (a, rmm-console)',
    ],
    [
      routes(['relay-alpha', {}]),
      'relay-alpha',
      `the console's NATS user "relay-alpha" is also a relay's name`,
    ],
  ])('refuses %#: %s', (declared, flag, message) => {
    expect(() => authorizationInput(declared, flag)).toThrow(message);
  });
});
