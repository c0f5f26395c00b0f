import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { jobSignals } from '../../src/actions/job-signals.js';

describe('jobSignals', () => {
  it("keeps one listener on the run's signal however many jobs are open, and aborts them all with its reason", () => {
    const run = new AbortController();
    const signals = jobSignals(run.signal);
    const jobs = Array.from({ length: 50 }, () => signals.open());
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(1);
    const ended = jobs[0];
    ended?.release();
    run.abort(new Error('cancelled'));
    expect(jobs.slice(1).every((job) => job.signal.aborted)).toBe(true);
    expect((jobs[1]?.signal.reason as Error | undefined)?.message).toBe('cancelled');
    // A released job is no longer the run's to abort.
    expect(ended?.signal.aborted).toBe(false);
    // A job opened after the run was aborted starts aborted.
    expect(signals.open().signal.aborted).toBe(true);
    signals.dispose();
  });

  it("removes its listener from the run's signal when disposed", () => {
    const run = new AbortController();
    jobSignals(run.signal).dispose();
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  });
});
