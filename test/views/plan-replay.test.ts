import { describe, expect, it } from 'vitest';
import type { PlanReplay } from '../../src/replay/plan-replay.js';
import { paint } from '../../src/views/color.js';
import { type ReplayView, replayJson, replayLines } from '../../src/views/plan-replay.js';

/** The replay's wording, pinned: one line per monitor, and one line when there is nothing to replay. */
const result = (over: Partial<PlanReplay> = {}): PlanReplay => ({
  since: 0,
  until: 7 * 86_400_000,
  samplesStored: true,
  samplesRead: 120_960,
  monitors: [
    {
      policy: 'linux',
      monitor: 'cpu-high',
      added: false,
      devices: 12,
      planned: { alerts: 37, devices: 12 },
      now: { alerts: 4, devices: 2 },
    },
    {
      policy: 'linux',
      monitor: 'mem\u001b[2J',
      added: true,
      devices: 1,
      planned: { alerts: 1, devices: 1 },
      now: null,
    },
  ],
  ...over,
});
const lines = (view: ReplayView) => [...replayLines(view, paint(false))];

describe('replay view', () => {
  it('says per monitor what it would have fired and what it fires now; names are escaped', () => {
    expect(lines({ duration: '7d', result: result() })).toEqual([
      '',
      'Replay of the last 7d of stored samples (120960 read, from the series these monitors cover):',
      '  linux/cpu-high: would have fired 37 alerts on 12 devices over 7d (now: 4 on 2)',
      '  linux/mem\\u001b[2J (new): would have fired 1 alert on 1 device over 7d (now: none)',
    ]);
  });

  it('one line with no samples in the window, one when skipped, nothing when no monitor changed', () => {
    expect(lines({ duration: '1h', result: result({ samplesStored: false }) })).toEqual([
      '',
      'Replay: no samples stored in the last 1h; nothing to replay (rmm serve stores them).',
    ]);
    expect(lines({ duration: '7d', skipped: 'schema-behind' })).toHaveLength(2);
    expect(lines({ duration: '7d', result: result({ monitors: [] }) })).toEqual([]);
  });

  it('JSON: null when not asked for, the counts otherwise, no times', () => {
    expect(replayJson(undefined)).toBeNull();
    const json = replayJson({ duration: '7d', result: result() });
    expect(json).toMatchObject({ duration: '7d', samplesStored: true, samplesRead: 120_960 });
    expect(JSON.stringify(json)).not.toMatch(/since|until/);
  });
});
