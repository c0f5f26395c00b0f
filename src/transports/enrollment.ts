import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { devicesByName } from '../actions/targets.js';
import { RmmError } from '../errors.js';
import type { Enrollment } from '../plugin/api.js';
import { PRIVATE_DIR } from '../private-files.js';
import type { Db } from '../state/connection.js';
import { suggest } from '../suggest.js';
import type { TransportRegistry } from './registry.js';

/**
 * The installer a device of a queued transport needs (`rmm smb enroll`): the device from the
 * database, its transport's enrollment(), and the transport's private folder of the data dir, where
 * its keys live (made 0700 here, as the queue's open gets it).
 */
export async function enrollDevice(
  db: Db,
  registry: TransportRegistry,
  dataDir: string,
  deviceName: string,
  transportName: string,
): Promise<Enrollment> {
  const devices = devicesByName(db);
  const device = devices.get(deviceName);
  if (!device) {
    const near = suggest(deviceName, [...devices.keys()]);
    throw new RmmError('not-found', `no device ${JSON.stringify(deviceName)} in the database`, {
      details: [near ? `did you mean ${near}?` : 'rmm get devices lists them (after rmm apply)'],
    });
  }
  if (device.transport.type !== transportName)
    throw new RmmError(
      'usage',
      `device ${deviceName} is reached over ${String(device.transport.type)}, not ${transportName}: set its spec.transport.type to ${transportName} first`,
    );
  const enrollment = registry.transports.get(transportName)?.transport.queue?.enrollment;
  if (!enrollment)
    throw new RmmError('not-found', `no installed transport ${transportName} offers enrollment`);
  const stateDir = transportStateDir(dataDir, transportName);
  return enrollment({ name: device.name, host: device.host, os: device.os }, { stateDir });
}

/** `<data>/transports/<name>/`, 0700: QueueOpenOptions.stateDir. */
export function transportStateDir(dataDir: string, transportName: string): string {
  const dir = path.join(dataDir, 'transports', transportName);
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  return dir;
}
