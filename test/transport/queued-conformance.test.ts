import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeQueuedTransportConformance } from '../../src/plugin/conformance.js';
import { FAKE_OUTPUT_CAP, fakeFarSide, fakeQueuedTransport } from '../helpers/fake-queued-transport.js';

/**
 * The queued conformance kit's self-test, on the folder-backed fake queue whose far side runs sh on
 * this machine (the device). The relay plugin runs the same kit against nats-server and its agent.
 */
describeQueuedTransportConformance('fake folder queue (kit self-test)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-queued-kit-'));
  const record = path.join(dir, 'ran.txt');
  const far = fakeFarSide(path.join(dir, 'queue'), 'site-1');
  return {
    transport: fakeQueuedTransport({ dir: path.join(dir, 'queue') }),
    route: { name: 'site-1', options: {} },
    open: { connectTimeoutMs: 1000 },
    action: {
      type: 'exec',
      device: { name: 'here', host: '127.0.0.1', os: 'linux', transport: { type: 'ssh' } },
      timeoutMs: 10_000,
      connectTimeoutMs: 1000,
    },
    farSide: far,
    recordCommand: (id) => `echo ${id} >> ${record}`,
    ranOnDevice: async () => {
      try {
        return readFileSync(record, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    outputCapBytes: FAKE_OUTPUT_CAP,
    teardown: async () => {
      await far.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
