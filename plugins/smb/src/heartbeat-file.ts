import type { QueuedReport } from 'rmm/plugin';

const MAX_HEARTBEAT_BYTES = 4096;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$/;

/**
 * The consumer rewrites `heartbeat` on each run: {"v":1,"at":ISO,"device":NAME,"consumer":"sh"|"ps1",
 * "version":"1"}. Untrusted like a result: a time in the future is taken as now (a device's clock
 * cannot make it look alive longer), and anything off is `invalid`.
 */
export function parseHeartbeat(bytes: Buffer, now: Date): QueuedReport {
  const invalid = (problem: string): QueuedReport => ({ kind: 'invalid', at: now.toISOString(), problem });
  if (bytes.length > MAX_HEARTBEAT_BYTES) return invalid(`heartbeat: over ${MAX_HEARTBEAT_BYTES} bytes`);
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return invalid('heartbeat: not JSON');
  }
  const { v, at, device, consumer, version } = value ?? {};
  const keys = Object.keys(value ?? {})
    .sort()
    .join(',');
  if (
    v !== 1 ||
    typeof at !== 'string' ||
    !ISO.test(at) ||
    Number.isNaN(Date.parse(at)) ||
    (consumer !== 'sh' && consumer !== 'ps1') ||
    typeof device !== 'string' ||
    !/^[a-z0-9-]{1,63}$/.test(device) ||
    typeof version !== 'string' ||
    !/^[0-9.]{1,20}$/.test(version) ||
    keys !== 'at,consumer,device,v,version'
  )
    return invalid('heartbeat: not a heartbeat file');
  const seen = Math.min(Date.parse(at), now.getTime());
  return { kind: 'heartbeat', at: new Date(seen).toISOString(), detail: { device, consumer, version } };
}
