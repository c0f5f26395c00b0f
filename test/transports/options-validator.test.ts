import { describe, expect, it } from 'vitest';
import type { Transport } from '../../src/plugin/api.js';
import { optionsMismatch, optionsValidator } from '../../src/transports/options-validator.js';

const transport = (optionsSchema: object): Transport =>
  ({
    apiVersion: 1,
    name: 'probe',
    optionsSchema,
    defaultPort: 1,
    batchSize: 1,
    capabilities: { powershell: false, fileTransfer: false, queued: false },
    connect: async () => ({}),
  }) as unknown as Transport;

describe('a transport options validator', () => {
  const schema = {
    type: 'object',
    properties: { port: { type: 'integer', default: 22 }, share: { type: 'string' } },
    additionalProperties: false,
  };

  it('is compiled once per transport object: the same function for every block, a new one for another object', () => {
    const probe = transport(schema);
    const first = optionsValidator(probe);
    expect(typeof first).toBe('function');
    expect(optionsValidator(probe)).toBe(first);
    expect(optionsValidator(transport(structuredClone(schema)))).not.toBe(first);
  });

  it('fills defaults in and names each mismatch by its path under the root given', () => {
    const validate = optionsValidator(transport(schema));
    if (typeof validate === 'string') throw new Error(validate);
    const fits: Record<string, unknown> = { share: 'rmm$' };
    expect(optionsMismatch(validate, fits, 'options')).toBeUndefined();
    expect(fits.port).toBe(22);
    expect(optionsMismatch(validate, { port: 'x' }, 'options')).toBe('/port must be integer');
    expect(optionsMismatch(validate, { extra: 1 }, 'transport')).toBe(
      'transport must NOT have additional properties',
    );
  });

  it('says, once and for every block, that a schema does not compile', () => {
    const broken = transport({ type: 'nonsense' });
    const problem = optionsValidator(broken);
    expect(problem).toMatch(/^transport "probe": optionsSchema does not compile: /);
    expect(optionsValidator(broken)).toBe(problem);
  });
});
