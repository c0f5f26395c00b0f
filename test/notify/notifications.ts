import type { NotificationContent, NotifiedAlert } from '../../src/notify/content.js';

/** Notifications as the outbox would hand them to a sender, for the sender tests. */

export function alertOn(device: string, overrides: Partial<NotifiedAlert> = {}): NotifiedAlert {
  return {
    id: `alert-${device}`,
    device,
    site: 'main',
    severity: 'Critical',
    title: `cpu-high on ${device}: cpu.usage_percent > 90`,
    message:
      'cpu.usage_percent is 97, > 90 since 2026-03-29T01:00:00.000Z (policy linux-server, monitor cpu-high)',
    source: 'linux-server/cpu-high',
    instance: '',
    createdAt: '2026-03-29 01:00:00',
    resolvedAt: null,
    ...overrides,
  };
}

let next = 0;

export function notification(overrides: Partial<NotificationContent> = {}): NotificationContent {
  next += 1;
  return {
    id: `n-${process.pid}-${next}`,
    event: 'fire',
    channel: 'ops',
    group: { site: 'main', source: 'linux-server/cpu-high' },
    severity: 'Critical',
    alerts: [alertOn('web-01')],
    createdAt: Date.UTC(2026, 2, 29, 1, 0, 30),
    ...overrides,
  };
}

/** A storm's group: `count` devices of one site and monitor. */
export function storm(count: number): NotificationContent {
  return notification({
    alerts: Array.from({ length: count }, (_, i) => alertOn(`web-${String(i).padStart(4, '0')}`)),
  });
}
