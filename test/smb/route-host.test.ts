import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmbTransport } from '../../plugins/smb/src/transport.js';
import { type QueueRoute, TransportError } from '../../src/plugin/api.js';
import { testSecret } from '../helpers/transport.js';

/**
 * Where a device route's share is: the block's `host`, else the device's address (QueueRoute.device),
 * held to the same pattern as the option, since it becomes smbclient's //host/share argument.
 * (The path through smbd is test/smb/smb-e2e.test.ts, whose device names no host.)
 */
let stateDir: string;
beforeAll(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'rmm-smb-route-'));
});
afterAll(() => rm(stateDir, { recursive: true, force: true }));

const open = (route: QueueRoute) =>
  (
    createSmbTransport({ apiVersion: 1, TransportError }).queue as NonNullable<
      ReturnType<typeof createSmbTransport>['queue']
    >
  ).open(route, { secret: testSecret('env:RMM_SMB_PASSWORD', 'pw'), connectTimeoutMs: 1000, stateDir });

const device = (host: string) => ({ name: 'file-01', host, os: 'linux' as const });

describe('the SMB route host', () => {
  it('refuses a route with neither a host option nor a device', async () => {
    await expect(open({ name: 'file-01', options: { user: 'u' } })).rejects.toThrow(
      'file-01: no host for the SMB share',
    );
  });

  it("refuses a device address smbclient must not be given, as the option's pattern would", async () => {
    await expect(open({ name: 'file-01', options: { user: 'u' }, device: device('a b/c') })).rejects.toThrow(
      'file-01: "a b/c" is not a host smbclient can be given',
    );
  });

  it("reaches the device's address, or the block's host over it (said by smbclient's refusal on a closed port)", async () => {
    const byDevice = await open({
      name: 'file-01',
      options: { user: 'u', port: 1 },
      device: device('127.0.0.1'),
    });
    await expect(byDevice.fetch({ max: 1, waitMs: 0 })).rejects.toThrow(
      '//127.0.0.1/rmm$ (port 1): cannot connect',
    );
    await byDevice.close();
    const byOption = await open({
      name: 'file-01',
      options: { user: 'u', port: 1, host: 'localhost' },
      device: device('127.0.0.1'),
    });
    await expect(byOption.fetch({ max: 1, waitMs: 0 })).rejects.toThrow(
      '//localhost/rmm$ (port 1): cannot connect',
    );
    await byOption.close();
  }, 30_000);
});
