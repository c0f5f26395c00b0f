import type { Sample } from './samples.js';
import type { Reachability } from './session-pool.js';

/**
 * Devices watched through a heartbeat instead of a session: a device whose own transport is a
 * queued one (an SMB share) has nothing to collect through, but its consumer rewrites a heartbeat
 * the queue pass reads (QueueRoutes.LastSeenAt, at the heartbeat's own time). Each cycle turns its
 * age into the same `device.reachable` sample the session probe gives, so the device-offline alert
 * works for them as for every device.
 */
export interface HeartbeatDevice {
  device: string;
  /** When its heartbeat was last written (epoch ms), null when never seen. */
  lastSeenAt: number | null;
}

/**
 * A heartbeat older than this is a stopped consumer: it runs once a minute and `rmm serve` reads an
 * idle share once a minute, so a live one is at most about two minutes old when read.
 */
export const HEARTBEAT_STALE_MS = 3 * 60_000;

/**
 * One `device.reachable` sample per device (1 while its heartbeat is fresh), and a Reachability for
 * each stale one (Devices.Status Offline). A fresh one needs none: reading the heartbeat already set
 * Status Online and LastSeen to its time, which the cycle's clock must not overwrite.
 */
export function heartbeatReadings(
  devices: readonly HeartbeatDevice[],
  at: number,
  staleMs = HEARTBEAT_STALE_MS,
): { samples: Sample[]; stale: Reachability[] } {
  const samples: Sample[] = [];
  const stale: Reachability[] = [];
  for (const { device, lastSeenAt } of devices) {
    const fresh = lastSeenAt !== null && at - lastSeenAt <= staleMs;
    samples.push({ device, metric: 'device.reachable', labels: {}, value: fresh ? 1 : 0, at });
    if (!fresh)
      stale.push({
        device,
        reachable: false,
        at,
        error:
          lastSeenAt === null
            ? 'no heartbeat read from its queue yet'
            : `its heartbeat is ${Math.round((at - lastSeenAt) / 1000)} s old (its consumer has not run since)`,
      });
  }
  return { samples, stale };
}
