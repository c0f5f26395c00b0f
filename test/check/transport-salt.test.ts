import { describe, expect, it } from 'vitest';
import { transportSalt } from '../../src/validate.js';

describe('the check cache salt of the transport checks', () => {
  const ssh = { type: 'object', properties: { port: { type: 'integer' } } };
  const winrm = { type: 'object', properties: { scheme: { enum: ['http', 'https'] } } };

  it('does not depend on the order plugins loaded in (plan and the apply after it share entries)', () => {
    expect(transportSalt({ schemas: { ssh, winrm } })).toBe(transportSalt({ schemas: { winrm, ssh } }));
  });

  it('depends on the schemas and on --allow-unknown-transports', () => {
    const base = transportSalt({ schemas: { ssh, winrm } });
    expect(transportSalt({ schemas: { ssh } })).not.toBe(base);
    expect(transportSalt({ schemas: { ssh, winrm }, allowUnknown: true })).not.toBe(base);
    expect(transportSalt({ schemas: { ssh, winrm }, allowUnknown: false })).toBe(base);
  });
});
