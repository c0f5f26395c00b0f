import { describe, expect, it } from 'vitest';
import { resolveSecret } from '../../src/actions/secret.js';

describe('resolveSecret', () => {
  it('refuses what is not a reference without repeating it (it may be the secret itself)', () => {
    // Validation refuses such a value; a row edited by hand in the database can still hold one.
    let message = '';
    try {
      resolveSecret('Hunter2-secret');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      'credentialRef is neither env:NAME nor file:PATH, the only references rmm reads secrets from (not shown: it may be the secret itself)',
    );
    expect(message).not.toContain('Hunter2');
  });
});
