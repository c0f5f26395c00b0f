import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectReports, ROUTES_AT_ONCE } from '../../src/actions/queue-collect.js';
import type { RouteOpener } from '../../src/actions/queue-open.js';
import { queueStore } from '../../src/actions/queue-store.js';
import type { QueueConnection } from '../../src/plugin/api.js';
import { consoleDatabase } from '../helpers/console-db.js';

/**
 * Device routes can be many (one SMB share each, one smbclient per visit): a collect visits at most
 * ROUTES_AT_ONCE at once, and every one of them. The connection is a stand-in that only counts how
 * many fetches overlap: what is measured is the core's scheduling, not a transport.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-collect-bound-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('collecting many routes', () => {
  it(`fetches at most ${ROUTES_AT_ONCE} routes at once, and all of them`, async () => {
    const db = consoleDatabase(path.join(dir, 'devices.db'));
    let inFlight = 0;
    let most = 0;
    const fetched: string[] = [];
    const connection = (route: string): QueueConnection => ({
      submit: async () => [],
      async fetch() {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        fetched.push(route);
        return [];
      },
      ack: async () => {},
      close: async () => {},
    });
    const routes: RouteOpener = {
      open: async (key) => ({
        connection: connection(key.route),
        config: { transport: key.transport, name: key.route, options: {}, expirySeconds: 60 },
      }),
      forget: async () => {},
      closeAll: async () => {},
    };
    const keys = Array.from({ length: 3 * ROUTES_AT_ONCE + 1 }, (_, i) => ({
      transport: 'smb',
      route: `file-${i}`,
    }));
    const summary = await collectReports(keys, {
      queue: queueStore(db, 'tester'),
      hooks: undefined,
      devices: () => new Map(),
      routes,
      now: () => 0,
      onEvent: () => {},
      onNotice: () => {},
    });
    expect(summary.problems).toEqual([]);
    expect(most).toBe(ROUTES_AT_ONCE);
    expect(fetched.sort()).toEqual(keys.map((k) => k.route).sort());
    db.close();
  });
});
