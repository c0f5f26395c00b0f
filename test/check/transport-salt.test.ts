import { describe, expect, it } from 'vitest';
import { transportSalt } from '../../src/validate.js';

describe('the check cache salt of the transport checks', () => {
  const ssh = { type: 'object', properties: { port: { type: 'integer' }, user: { type: 'string' } } };
  const winrm = { type: 'object', properties: { scheme: { enum: ['http', 'https'] } } };
  // The same schema with every object's keys in the opposite order, as a plugin that builds its
  // schema from a Map or from other hooks' results may hand it over.
  const sshReordered = {
    properties: { user: { type: 'string' }, port: { type: 'integer' } },
    type: 'object',
  };

  it('does not depend on the order plugins loaded in (plan and the apply after it share entries)', () => {
    expect(transportSalt({ schemas: { ssh, winrm } })).toBe(transportSalt({ schemas: { winrm, ssh } }));
  });

  it('does not depend on the order of keys at any depth, nor of the credential policy lists', () => {
    const a = transportSalt({
      schemas: { ssh, winrm },
      credentials: { envPrefixes: ['RMM_', 'OPS_'], dirs: ['/a', '/b'] },
    });
    const b = transportSalt({
      schemas: { winrm, ssh: sshReordered },
      credentials: { dirs: ['/b', '/a'], envPrefixes: ['OPS_', 'RMM_'] },
    });
    expect(b).toBe(a);
  });

  it('depends on the schemas, the credential policy and --allow-unknown-transports', () => {
    const base = transportSalt({ schemas: { ssh, winrm } });
    expect(transportSalt({ schemas: { ssh } })).not.toBe(base);
    expect(transportSalt({ schemas: { ssh: winrm, winrm: ssh } })).not.toBe(base);
    expect(transportSalt({ schemas: { ssh, winrm }, allowUnknown: true })).not.toBe(base);
    expect(transportSalt({ schemas: { ssh, winrm }, allowUnknown: false })).toBe(base);
    const policy = { envPrefixes: ['RMM_'], dirs: ['/a'] };
    expect(transportSalt({ schemas: { ssh, winrm }, credentials: policy })).not.toBe(base);
    expect(
      transportSalt({ schemas: { ssh, winrm }, credentials: { ...policy, dirs: ['/a', '/b'] } }),
    ).not.toBe(transportSalt({ schemas: { ssh, winrm }, credentials: policy }));
  });
});
