import type { ServiceStatus } from '../service/status.js';
import { outboxLines } from './notifications.js';

/** rmm status for people: a few lines, times in UTC. */
export function statusLines(status: ServiceStatus): string[] {
  const iso = (ms: number) =>
    new Date(ms)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC');
  const s = status.service;
  const lines = [
    s.running
      ? `rmm serve: running, pid ${s.pid} on ${s.host}, since ${iso(s.since)} (last heartbeat ${iso(s.heartbeatAt)})`
      : `rmm serve: not running (${s.note})`,
    status.lastCycle
      ? `Last cycle: ${iso(status.lastCycle.at)}, took ${(status.lastCycle.ms / 1000).toFixed(1)} s`
      : 'Last cycle: none yet',
    `Devices: ${Object.entries(status.devices)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')}`,
    `Open alerts: ${Object.entries(status.openAlerts)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')}`,
    ...outboxLines(status.notifications),
    ...(status.relays.length ? ['Relays:'] : []),
    ...status.relays.map(
      (r) =>
        `  ${r.route} (${r.transport}): ${r.connected ? 'connected' : 'not connected'}, last seen ${r.lastSeenAt === null ? 'never' : iso(r.lastSeenAt)}, ${r.depth} queued${r.oldestAgeMs === null ? '' : `, oldest ${Math.round(r.oldestAgeMs / 1000)} s`}`,
    ),
    ...status.deviceQueues.map(
      (q) =>
        `Devices with their own queue (${q.transport}): ${q.devices}, ${q.connected} seen within 90 s, ${q.depth} queued${q.oldestAgeMs === null ? '' : `, oldest ${Math.round(q.oldestAgeMs / 1000)} s`}${q.notSeen.length ? `; not seen lately: ${q.notSeen.join(', ')}${q.devices - q.connected > q.notSeen.length ? `, and ${q.devices - q.connected - q.notSeen.length} more` : ''}` : ''}`,
    ),
  ];
  return lines;
}
