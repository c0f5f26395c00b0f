import { DEVICE_OFFLINE, type EffectiveMonitor } from './monitors.js';

/** The words of an alert: what an operator reads in `rmm alerts` and the logs. */

const iso = (at: number) => new Date(at).toISOString();

export function isOffline(monitor: Pick<EffectiveMonitor, 'policy' | 'name'>): boolean {
  return monitor.policy === DEVICE_OFFLINE.policy && monitor.name === DEVICE_OFFLINE.name;
}

export function sourceOf(monitor: Pick<EffectiveMonitor, 'policy' | 'name'>): string {
  return isOffline(monitor) ? 'rmm/device-offline' : `${monitor.policy}/${monitor.name}`;
}

function seriesName(metric: string, instance: string): string {
  return instance === '' ? metric : `${metric}{${instance}}`;
}

export function fireTitle(device: string, monitor: EffectiveMonitor, instance: string): string {
  if (isOffline(monitor)) return `${device} is offline`;
  return `${monitor.name} on ${device}: ${seriesName(monitor.metric, instance)} ${monitor.op} ${monitor.threshold}`;
}

export function fireMessage(
  device: string,
  monitor: EffectiveMonitor,
  instance: string,
  value: number,
  since: number,
): string {
  if (isOffline(monitor))
    return `${device} has not answered since ${iso(since)} (offline after ${monitor.forMs / 1000} s)`;
  return `${seriesName(monitor.metric, instance)} is ${value}, ${monitor.op} ${monitor.threshold} since ${iso(since)} (policy ${monitor.policy}, monitor ${monitor.name})`;
}

export function clearedMessage(
  device: string,
  monitor: EffectiveMonitor,
  instance: string,
  value: number,
): string {
  if (isOffline(monitor)) return `${device} answered again`;
  return `${seriesName(monitor.metric, instance)} is ${value}, no longer ${monitor.op} ${monitor.threshold}`;
}

export function removedMessage(device: string, policy: string, monitor: string): string {
  if (isOffline({ policy, name: monitor })) return `${device} is no longer watched for being offline`;
  return `monitor ${monitor} of policy ${policy} no longer applies to ${device} (removed or changed)`;
}
