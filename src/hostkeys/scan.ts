import type { DeviceRecord } from '../actions/targets.js';
import { ExitCode } from '../errors.js';
import type { HostKeyScan } from '../plugin/api.js';
import { prepareTarget } from '../transports/device-target.js';
import { optionsValidator } from '../transports/options-validator.js';
import type { TransportRegistry } from '../transports/registry.js';

/**
 * `rmm hostkeys scan`: first contact with hosts, as ssh-keyscan plus a fingerprint check. Each
 * selected device's transport fetches the key the device offers (the optional HostKeyTrust
 * capability of the plugin API) and compares it with what it trusts; keys of new hosts are then
 * recorded, or not, as the user decides. The core knows nothing of SSH: a transport without host
 * keys (WinRM pins TLS certificates in its options) is reported as not supporting it.
 */
export type HostKeyStatus =
  /** Trusted already. */
  | 'known'
  /** Nothing recorded for this host: the key can be recorded. */
  | 'new'
  /** Was new, and this run recorded it. */
  | 'recorded'
  /** The host is recorded with other keys: never replaced. */
  | 'changed'
  /** The store marks this very key revoked. */
  | 'revoked'
  | 'unreachable'
  /** The device's transport has no host keys (or none is installed for its type): skipped. */
  | 'unsupported'
  /** Anything else that stopped the scan or the record of this device (bad options, I/O). */
  | 'failed';

export interface HostKeyResult {
  device: string;
  transport: string;
  /** The host as the trust store names it (`[10.0.0.5]:2222`), else the device's address. */
  host: string;
  status: HostKeyStatus;
  keyType?: string;
  fingerprint?: string;
  /** Where the key is (or would be) trusted: a known_hosts path. */
  store?: string;
  /** For changed: the keys the store trusts instead. */
  expected?: string[];
  error?: string;
}

/** A device's scan, with what record() needs should the user confirm. */
export interface Scanned {
  result: HostKeyResult;
  record?: () => Promise<void>;
}

export interface ScanOptions {
  connectTimeoutMs: number;
  /** At most this many scans at once. */
  concurrency: number;
  signal?: AbortSignal;
}

/** Scans every device (at most `concurrency` at once); one device's failure never stops the others. */
export async function scanHostKeys(
  devices: readonly DeviceRecord[],
  registry: TransportRegistry,
  options: ScanOptions,
): Promise<Scanned[]> {
  const scanned: Scanned[] = new Array(devices.length);
  let next = 0;
  const lane = async () => {
    while (next < devices.length) {
      const index = next++;
      scanned[index] = await scanOne(devices[index] as DeviceRecord, registry, options);
    }
  };
  const width = Math.max(1, Math.min(options.concurrency, devices.length));
  await Promise.all(Array.from({ length: width }, lane));
  return scanned;
}

async function scanOne(
  device: DeviceRecord,
  registry: TransportRegistry,
  options: ScanOptions,
): Promise<Scanned> {
  const type = String(device.transport.type);
  const base = { device: device.name, transport: type, host: device.host };
  const registered = registry.transports.get(type);
  if (!registered)
    return {
      result: {
        ...base,
        status: 'unsupported',
        error: `no transport "${type}" is installed (see rmm transports)`,
      },
    };
  const { transport } = registered;
  if (!transport.hostKeys)
    return {
      result: { ...base, status: 'unsupported', error: `the ${type} transport has no host keys to scan` },
    };
  const validate = optionsValidator(transport);
  if (typeof validate === 'string') return { result: { ...base, status: 'failed', error: validate } };
  const prepared = prepareTarget(device, type, validate);
  if ('problem' in prepared) return { result: { ...base, status: 'failed', error: prepared.problem } };
  const hostKeys = transport.hostKeys;
  let scan: HostKeyScan;
  try {
    scan = await hostKeys.scan(prepared.target, {
      connectTimeoutMs: options.connectTimeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      result: {
        ...base,
        status: code === 'unreachable' ? 'unreachable' : 'failed',
        error: (error as Error).message,
      },
    };
  }
  const result: HostKeyResult = {
    ...base,
    host: scan.hostName,
    status: scan.status,
    keyType: scan.keyType,
    fingerprint: scan.fingerprint,
    store: scan.store,
    ...(scan.expected ? { expected: scan.expected } : {}),
  };
  if (scan.status !== 'new' || !scan.recordable) return { result };
  return { result, record: () => hostKeys.record(prepared.target, scan) };
}

/**
 * Records the new keys, one after the other (several devices may be one host: the second finds the
 * first's line and is `recorded` too). A record the transport refuses (the store changed since the
 * scan) ends `changed`; `onRecorded` is told of each key written (the AuditLog row).
 */
export async function recordHostKeys(
  scanned: readonly Scanned[],
  onRecorded: (result: HostKeyResult) => void,
): Promise<void> {
  for (const item of scanned) {
    if (!item.record) continue;
    try {
      await item.record();
      item.result.status = 'recorded';
      onRecorded(item.result);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      item.result.status = code === 'host-key-mismatch' ? 'changed' : 'failed';
      item.result.error = (error as Error).message;
    }
  }
}

/** Keys that differ from what is trusted: a reason to record nothing at all in this run. */
export function alarming(results: readonly HostKeyResult[]): HostKeyResult[] {
  return results.filter((r) => r.status === 'changed' || r.status === 'revoked');
}

/**
 * 3 (refused) when a key differs from the trusted one or is revoked; else 1 when a device could not
 * be scanned or recorded; else 2 when new keys were left unrecorded (no terminal and no --yes, or
 * the answer was not yes); else 0. Devices whose transport has no host keys do not count.
 */
export function scanExitCode(results: readonly HostKeyResult[]): ExitCode {
  if (alarming(results).length > 0) return ExitCode.refused;
  if (results.some((r) => r.status === 'unreachable' || r.status === 'failed')) return ExitCode.error;
  if (results.some((r) => r.status === 'new')) return ExitCode.changes;
  return ExitCode.ok;
}
