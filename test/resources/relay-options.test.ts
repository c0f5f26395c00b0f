import { afterEach, describe, expect, it } from 'vitest';
import { pluginOptionProblems, setTransportSchemas } from '../../src/resources/transport-options.js';
import { validateResource } from '../../src/resources/validate-resource.js';

/**
 * A Relay's spec.nats is a route of the relay transport: checked against that plugin's options
 * schema as a device's transport block is against its type's, and refused like a block of an
 * unknown type when no relay plugin is installed. `via` is rmm's key of a transport block: no
 * plugin schema sees it. The plugins here are fakes: what is tested is the core's side.
 */
const closed = { type: 'object', additionalProperties: false, properties: { port: { type: 'integer' } } };
const relayOptions = {
  type: 'object',
  additionalProperties: false,
  required: ['servers'],
  properties: { servers: { type: 'array', items: { type: 'string' } }, user: { type: 'string' } },
};
const relay = (nats: Record<string, unknown>) => ({
  apiVersion: 'rmm/v1',
  kind: 'Relay',
  metadata: { name: 'relay-alpha' },
  spec: { nats },
});
const NATS = { servers: ['tls://nats.example.net:4222'], credentialRef: 'env:RMM_NATS_PASSWORD' };
afterEach(() => setTransportSchemas(undefined));

describe("a Relay's nats block", () => {
  it('is an error at spec.nats when no installed plugin provides relay, unless unknown transports are allowed', () => {
    setTransportSchemas({ schemas: { ssh: closed } });
    expect(validateResource(relay(NATS)).problems).toEqual([
      {
        code: 'schema',
        path: ['spec', 'nats'],
        at: 'key',
        message:
          'no installed plugin provides the transport "relay" (installed: ssh; --allow-unknown-transports accepts it for a plugin installed elsewhere)',
      },
    ]);
    setTransportSchemas({ schemas: { ssh: closed }, allowUnknown: true });
    expect(validateResource(relay(NATS)).problems).toEqual([]);
  });

  it("is checked against the relay plugin's schema without its credentialRef, and by its checkOptions", () => {
    const seen: Array<Record<string, unknown>> = [];
    setTransportSchemas({
      schemas: {},
      routeSchemas: { relay: relayOptions },
      optionChecks: {
        relay: (options) => {
          seen.push(options);
          return [{ path: ['servers', 0], severity: 'warning', message: 'plain nats:// is for labs' }];
        },
      },
    });
    expect(validateResource(relay(NATS)).problems).toEqual([]);
    expect(validateResource(relay({ ...NATS, sever: 'x' })).problems.map((p) => p.path)).toEqual([
      ['spec', 'nats', 'sever'],
    ]);
    expect(pluginOptionProblems('Relay', NATS)).toEqual([
      {
        code: 'transport',
        path: ['spec', 'nats', 'servers', 0],
        at: 'value',
        message: 'plain nats:// is for labs',
        severity: 'warning',
      },
    ]);
    expect(seen).toEqual([{ servers: ['tls://nats.example.net:4222'] }]);
  });
});

describe('via in a transport block', () => {
  it("never reaches a plugin's schema or checks", () => {
    const seen: Array<Record<string, unknown>> = [];
    setTransportSchemas({
      schemas: { ssh: closed },
      optionChecks: {
        ssh: (options) => {
          seen.push(options);
          return [];
        },
      },
    });
    const device = {
      apiVersion: 'rmm/v1',
      kind: 'Device',
      metadata: { name: 'web-01' },
      spec: { site: 'main', transport: { type: 'ssh', port: 22, via: 'direct' } },
    };
    expect(validateResource(device).problems).toEqual([]);
    expect(pluginOptionProblems('Device', { type: 'ssh', port: 22, via: 'direct' })).toEqual([]);
    expect(seen).toEqual([{ port: 22 }]);
  });
});
