import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { routeTargets } from '../../src/notify/routes.js';
import { readFleet } from '../../src/service/fleet.js';
import { routingOf } from '../../src/service/notifications.js';
import { consoleDb, declare } from './helpers.js';

/** Routing as rmm serve reads it: applied AlertRoutes rows and the groups' parents, from a real database. */
const dir = mkdtempSync(path.join(tmpdir(), 'rmm-routing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('routingOf the fleet', () => {
  it('matches a route on a group above the device, and only the devices below it', () => {
    const db = consoleDb(dir, 'routing');
    try {
      declare(db, {
        groups: [{ name: 'servers' }, { name: 'web', parent: 'servers' }, { name: 'lab' }],
        devices: [
          { name: 'web-01', groups: ['web'] },
          { name: 'lab-01', groups: ['lab'] },
        ],
      });
      db.prepare('INSERT INTO AlertRoutes (RouteId, Channels, Match, GroupWait) VALUES (?, ?, ?, ?)').run(
        'servers-to-ops',
        '["ops-hook"]',
        '{"groups":["servers"]}',
        '0s',
      );
      const routing = routingOf(readFleet(db));
      if (!routing) throw new Error('no routing');
      expect(routing.routes).toEqual([
        {
          name: 'servers-to-ops',
          spec: {
            channels: ['ops-hook'],
            match: { groups: ['servers'] },
            notifyOnResolve: true,
            groupWait: '0s',
          },
        },
      ]);
      const targets = (device: string) => {
        const scope = routing.scopeOf(device);
        return scope
          ? routeTargets(routing.routes, { severity: 'Warning', event: 'fire' }, scope)
          : undefined;
      };
      expect(targets('web-01')).toEqual([{ route: 'servers-to-ops', channel: 'ops-hook', groupWaitMs: 0 }]);
      expect(targets('lab-01')).toEqual([]);
      expect(targets('gone')).toBeUndefined();
    } finally {
      db.close();
    }
  });

  it('a route whose Match was edited into something unreadable is left out and reported, never widened to every alert', () => {
    const db = consoleDb(dir, 'routing-bad-match');
    try {
      declare(db, { groups: [{ name: 'web' }], devices: [{ name: 'web-01', groups: ['web'] }] });
      const route = db.prepare(
        'INSERT INTO AlertRoutes (RouteId, Channels, Match, GroupWait) VALUES (?, ?, ?, ?)',
      );
      route.run('b-broken', '["ops-hook"]', '{"groups": [', '0s');
      route.run('a-listed', '["ops-hook"]', '["web"]', '0s');
      route.run('c-fine', '["ops-hook"]', '{"groups":["web"]}', '0s');
      const fleet = readFleet(db);
      expect(fleet.routes.map((r) => r.name)).toEqual(['c-fine']);
      expect(fleet.problems).toEqual(
        expect.arrayContaining([
          'AlertRoute/a-listed cannot be read (edited by hand?); left out',
          'AlertRoute/b-broken cannot be read (edited by hand?); left out',
        ]),
      );
    } finally {
      db.close();
    }
  });
});
