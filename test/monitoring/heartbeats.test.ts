import { describe, expect, it } from 'vitest';
import { HEARTBEAT_STALE_MS, heartbeatReadings } from '../../src/monitoring/heartbeats.js';

describe('heartbeat readings', () => {
  const at = Date.UTC(2026, 11, 3, 12);
  it('a heartbeat up to HEARTBEAT_STALE_MS old is reachable, one a millisecond older or none is not', () => {
    const { samples, stale } = heartbeatReadings(
      [
        { device: 'fresh', lastSeenAt: at - HEARTBEAT_STALE_MS },
        { device: 'stale', lastSeenAt: at - HEARTBEAT_STALE_MS - 1 },
        { device: 'never', lastSeenAt: null },
      ],
      at,
    );
    expect(samples).toEqual([
      { device: 'fresh', metric: 'device.reachable', labels: {}, value: 1, at },
      { device: 'stale', metric: 'device.reachable', labels: {}, value: 0, at },
      { device: 'never', metric: 'device.reachable', labels: {}, value: 0, at },
    ]);
    expect(stale).toEqual([
      {
        device: 'stale',
        reachable: false,
        at,
        error: 'its heartbeat is 180 s old (its consumer has not run since)',
      },
      { device: 'never', reachable: false, at, error: 'no heartbeat read from its queue yet' },
    ]);
  });

  it('a heartbeat from the future (a device clock ahead) counts as fresh, not as an error', () => {
    expect(heartbeatReadings([{ device: 'ahead', lastSeenAt: at + 60_000 }], at).samples[0]?.value).toBe(1);
  });
});
