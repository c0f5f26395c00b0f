import { describe, expect, it } from 'vitest';
import { defaultWorkers, workerCount } from '../../src/check/pool.js';

describe('worker threads for checking', () => {
  it('leaves one core to the main thread, which checks batches too; none on one core', () => {
    expect(defaultWorkers(1)).toBe(0);
    expect(defaultWorkers(2)).toBe(1);
    expect(defaultWorkers(4)).toBe(3);
    expect(defaultWorkers(64)).toBe(8);
  });

  it('takes RMM_WORKERS as given (0: everything on the main thread)', () => {
    expect(workerCount({ RMM_WORKERS: '0' })).toBe(0);
    expect(workerCount({ RMM_WORKERS: '3' })).toBe(3);
    expect(workerCount({ RMM_WORKERS: '100' })).toBe(64);
  });
});
