import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { execFile, queryFile } from '../helpers/sqlite.js';

/**
 * The commands around queued actions, through bin/run.js on a real database: rmm status's Relays
 * section, rmm actions collect with nothing to collect, rmm actions cancel of an action that may
 * already sit in a relay's queue. (Routes come from Relay resources, part C; here the observed
 * tables are written as collecting would.)
 */
const cwd = mkdtempSync(path.join(os.tmpdir(), 'rmm-queued-cli-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
const db = () => path.join(cwd, 'data', 'devices.db');
const rmm = (...args: string[]) => runCli(args, { cwd });

describe('queued actions in the CLI', () => {
  it('rmm status shows each relay: connected or not, last seen, depth, oldest', async () => {
    expect((await rmm('init')).exitCode).toBe(0);
    const now = Date.now();
    execFile(
      db(),
      `INSERT INTO Actions (ActionId, DeviceId, ActionType, Status, Payload) VALUES
         ('a1', 'web-01', 'exec', 'Delivered', '{"command":"true"}'),
         ('a2', 'web-02', 'exec', 'Pending', '{"command":"true"}'),
         ('a3', 'web-03', 'exec', 'Succeeded', '{"command":"true"}');
       INSERT INTO ActionDeliveries (ActionId, Transport, Route, ExpiresAt, IntentAt, Receipt) VALUES
         ('a1', 'relay', 'relay-alpha', '2099-01-01T00:00:00.000Z', datetime('now', '-120 seconds'), '7'),
         ('a2', 'relay', 'relay-alpha', '2099-01-01T00:00:00.000Z', datetime('now'), NULL),
         ('a3', 'relay', 'relay-alpha', '2099-01-01T00:00:00.000Z', datetime('now'), '9');
       INSERT INTO QueueRoutes (Transport, Route, LastSeenAt) VALUES ('relay', 'relay-alpha', ${now - 30_000}),
         ('relay', 'relay-beta', ${now - 600_000});`,
    );
    const json = await rmm('status', '--json');
    expect(json.exitCode).toBe(0);
    const relays = JSON.parse(json.stdout).relays;
    expect(relays).toMatchObject([
      { route: 'relay-alpha', connected: true, lastSeenAt: now - 30_000, depth: 2 },
      { route: 'relay-beta', connected: false, depth: 0, oldestAgeMs: null },
    ]);
    expect(relays[0].oldestAgeMs).toBeGreaterThanOrEqual(119_000);
    const text = await rmm('status');
    expect(text.stdout).toMatch(
      /Relays:\n {2}relay-alpha \(relay\): connected, last seen .* UTC, 2 queued, oldest 1\d\d s\n {2}relay-beta \(relay\): not connected/,
    );
  });

  it('rmm status sums devices that are routes of their own (SMB) per transport, apart from the relays', async () => {
    const now = Date.now();
    execFile(
      db(),
      `INSERT INTO Actions (ActionId, DeviceId, ActionType, Status, Payload) VALUES
         ('s1', 'file-02', 'exec', 'Delivered', '{"command":"true"}');
       INSERT INTO ActionDeliveries (ActionId, Transport, Route, ExpiresAt, IntentAt, Receipt) VALUES
         ('s1', 'smb', 'file-02', '2099-01-01T00:00:00.000Z', datetime('now', '-300 seconds'), 'queue/s1.job');
       INSERT INTO QueueRoutes (Transport, Route, LastSeenAt) VALUES ('smb', 'file-01', ${now - 10_000}),
         ('smb', 'file-02', ${now - 600_000});`,
    );
    try {
      const status = JSON.parse((await rmm('status', '--json')).stdout);
      expect(status.relays.map((r: { route: string }) => r.route)).toEqual(['relay-alpha', 'relay-beta']);
      expect(status.deviceQueues).toMatchObject([
        { transport: 'smb', devices: 2, connected: 1, depth: 1, notSeen: ['file-02'] },
      ]);
      expect(status.deviceQueues[0].oldestAgeMs).toBeGreaterThanOrEqual(299_000);
      const text = (await rmm('status')).stdout;
      expect(text).toMatch(
        /^Devices with their own queue \(smb\): 2, 1 seen within 90 s, 1 queued, oldest (29\d|30\d) s; not seen lately: file-02$/m,
      );
      expect(text).not.toMatch(/^ {2}file-0/m);
    } finally {
      execFile(
        db(),
        `DELETE FROM ActionDeliveries WHERE ActionId = 's1'; DELETE FROM Actions WHERE ActionId = 's1';
         DELETE FROM QueueRoutes WHERE Transport = 'smb';`,
      );
    }
  });

  it('rmm status reads QueueRoutes and ActionDeliveries edited by hand into something not a time as never seen, no age', async () => {
    execFile(
      db(),
      `INSERT INTO Actions (ActionId, DeviceId, ActionType, Status, Payload) VALUES
         ('h1', 'web-09', 'exec', 'Delivered', '{"command":"true"}');
       INSERT INTO ActionDeliveries (ActionId, Transport, Route, ExpiresAt, IntentAt, Receipt) VALUES
         ('h1', 'relay', 'relay-hand', 'garbage', 'not a time', '1');
       INSERT INTO QueueRoutes (Transport, Route, LastSeenAt) VALUES ('relay', 'relay-hand', 'yesterday');`,
    );
    try {
      const text = await rmm('status');
      expect(text.exitCode, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/^ {2}relay-hand \(relay\): not connected, last seen never, 1 queued$/m);
      const json = JSON.parse((await rmm('status', '--json')).stdout);
      expect(json.relays.find((r: { route: string }) => r.route === 'relay-hand')).toMatchObject({
        connected: false,
        lastSeenAt: null,
        depth: 1,
        oldestAgeMs: null,
      });
    } finally {
      execFile(
        db(),
        `DELETE FROM ActionDeliveries WHERE ActionId = 'h1'; DELETE FROM Actions WHERE ActionId = 'h1';
         DELETE FROM QueueRoutes WHERE Route = 'relay-hand';`,
      );
    }
  });

  it('rmm actions cancel refuses an action that may sit in a relay queue, saying it may still run', async () => {
    const result = await rmm('actions', 'cancel', 'a2');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'Refused: a2 (exec on web-02): it is Pending through relay/relay-alpha and may be in its queue already',
    );
    expect(result.stderr).toContain('it may still run');
    expect(
      queryFile<{ Status: string }>(db(), "SELECT Status FROM Actions WHERE ActionId = 'a2'")[0]?.Status,
    ).toBe('Pending');
    const delivered = await rmm('actions', 'cancel', 'a1');
    expect(delivered.exitCode).toBe(1);
    expect(delivered.stderr).toContain('relay/relay-alpha: no such route is declared');
  });

  it('rmm actions collect: a route it cannot open is named; exit 0; rows unchanged', async () => {
    const result = await rmm('actions', 'collect');
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('relay/relay-alpha: no such route is declared');
    expect(result.stdout).toContain('Collected 0 report(s); submitted again 0; expired 0.');
  });
});
