import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationContent, Sender } from '../../src/notify/content.js';
import { Deliverer } from '../../src/notify/deliverer.js';
import type { NamedRoute } from '../../src/notify/routes.js';
import { memoryLog } from '../../src/service/service-log.js';
import type { Db } from '../../src/state/connection.js';
import { consoleDatabase } from '../helpers/console-db.js';
import { waitFor } from '../helpers/wait.js';
import { webhookChannel } from '../helpers/webhook-channel.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { clock, cpuAlert, outboxRows, storesWithOutbox } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rmm-deliverer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const devices = ['web-01', 'web-02', 'web-03'];
const policy = { baseMs: 1_000, capMs: 60_000, maxAgeMs: 600_000 };

let receiver: WebhookReceiver;
let db: Db;
beforeEach(async () => {
  receiver = await startWebhookReceiver();
  db = consoleDatabase(path.join(dir, `db-${++files}.db`), devices);
});
afterEach(async () => {
  db.close();
  await receiver.close();
});

function setup(
  routes: NamedRoute[],
  senders: Record<string, Sender>,
  extra: { perChannel?: number; attemptTimeoutMs?: number } = {},
) {
  const time = clock(T0);
  const stores = storesWithOutbox(db, { now: time.now, routes, devices });
  const log = memoryLog();
  const deliverer = new Deliverer({
    outbox: stores.outbox,
    senderOf: (channel) => senders[channel],
    now: time.now,
    random: () => 0.5,
    log,
    policy,
    ...extra,
  });
  return { ...stores, time, log, deliverer };
}

const bodies = (r: WebhookReceiver) => r.accepted().map((q) => JSON.parse(q.body) as NotificationContent);

describe('the deliverer against a real loopback webhook receiver', () => {
  it('sends a grouped notification once it is ready, with its id as the idempotency key, and records it on the row and the alerts', async () => {
    const route: NamedRoute = { name: 'to-ops', spec: { channels: ['ops-hook'], groupWait: '30s' } };
    const { alerts, time, deliverer } = setup([route], { 'ops-hook': webhookChannel(receiver.url) });
    for (const d of devices) alerts.raise(cpuAlert(d), 'rmm serve');
    await deliverer.deliverDue();
    expect(receiver.requests).toHaveLength(0); // not ready before groupWait
    time.advance(30_000);
    await deliverer.deliverDue();
    const [row] = outboxRows(db);
    expect(row).toMatchObject({ Status: 'Delivered', Attempts: 1, LastAnswer: 'HTTP 200 OK: ok' });
    expect(receiver.accepted()).toHaveLength(1);
    expect(receiver.accepted()[0]?.headers['idempotency-key']).toBe(row?.NotificationId);
    const [sent] = bodies(receiver);
    expect(sent).toMatchObject({
      id: row?.NotificationId,
      event: 'fire',
      channel: 'ops-hook',
      severity: 'Critical',
    });
    expect(sent?.group).toEqual({ site: 'main', source: 'linux-baseline/cpu-high' });
    expect(sent?.alerts.map((a) => a.device)).toEqual(devices);
    for (const alert of alerts.open())
      expect(
        JSON.parse(
          db
            .prepare('SELECT NotificationsSent FROM Alerts WHERE AlertId = ?')
            .pluck()
            .get(alert.id) as string,
        ),
      ).toEqual([
        { channel: 'ops-hook', event: 'fire', at: '2026-06-01 12:00:30', notification: row?.NotificationId },
      ]);
  });

  it('retries a 500 and a connection reset with backoff on the injected clock, then delivers; a 404 fails the row for good', async () => {
    const routes: NamedRoute[] = [
      { name: 'a', spec: { channels: ['ops-hook'], groupWait: '0s' } },
      { name: 'b', spec: { channels: ['wrong-path'], groupWait: '0s' } },
    ];
    const senders = {
      'ops-hook': webhookChannel(receiver.url),
      'wrong-path': webhookChannel(`${receiver.url}/nope`),
    };
    const { alerts, time, deliverer, log } = setup(routes, senders);
    receiver.failNext({ kind: 'status', status: 500 });
    receiver.failNext({ kind: 'reset' });
    alerts.raise(cpuAlert('web-01'), 'rmm serve');
    await deliverer.deliverDue();
    const afterFirst = outboxRows(db);
    // One of the two channels met the 500, the other the reset: both wait for a retry.
    expect(afterFirst.map((r) => r.Status)).toEqual(['Pending', 'Pending']);
    expect(afterFirst.map((r) => r.NextAttemptAt - T0)).toEqual([500, 500]);
    await deliverer.deliverDue();
    expect(receiver.requests).toHaveLength(2); // nothing sent before the retry time
    time.advance(500);
    await deliverer.deliverDue();
    const rows = outboxRows(db);
    expect(rows.map((r) => [r.Channel, r.Status, r.Attempts])).toEqual([
      ['ops-hook', 'Delivered', 2],
      ['wrong-path', 'Failed', 2],
    ]);
    expect(rows[1]?.LastAnswer).toBe('HTTP 404 Not Found: no such hook');
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toContain(
      'notification Failed',
    );
  });

  it('a hanging channel holds only its own slots: another channel delivers meanwhile', async () => {
    const routes: NamedRoute[] = [{ name: 'r', spec: { channels: ['slow', 'fast'], groupWait: '0s' } }];
    const slow = await startWebhookReceiver();
    try {
      slow.failNext({ kind: 'hang' }, 100);
      const senders = {
        slow: webhookChannel(slow.url, { timeout: '60s' }),
        fast: webhookChannel(receiver.url),
      };
      const { alerts, deliverer } = setup(routes, senders, { perChannel: 2 });
      for (const d of devices) alerts.raise(cpuAlert(d), 'rmm serve');
      deliverer.pump();
      // Bounded polling of real peers: every fast notification arrives while the slow ones hang.
      await waitFor('the fast channel', () => (receiver.accepted().length === 3 ? true : undefined));
      await waitFor('the slow channel', () => (slow.requests.length === 2 ? true : undefined));
      expect(deliverer.inFlight).toBe(2); // the slow channel's two slots; its third row waits
      await deliverer.stop(); // cuts the hanging sends: their rows stay Pending, unrecorded
      const rows = outboxRows(db);
      expect(rows.filter((r) => r.Channel === 'slow').map((r) => [r.Status, r.Attempts])).toEqual([
        ['Pending', 0],
        ['Pending', 0],
        ['Pending', 0],
      ]);
      expect(rows.filter((r) => r.Channel === 'fast').every((r) => r.Status === 'Delivered')).toBe(true);
    } finally {
      await slow.close();
    }
  });

  it('a hang past the attempt bound is a retry; past the maximum age the row is Expired', async () => {
    const routes: NamedRoute[] = [{ name: 'r', spec: { channels: ['ops-hook'], groupWait: '0s' } }];
    receiver.failNext({ kind: 'hang' });
    const { alerts, time, deliverer } = setup(
      routes,
      { 'ops-hook': webhookChannel(receiver.url) },
      { attemptTimeoutMs: 200 },
    );
    alerts.raise(cpuAlert('web-01'), 'rmm serve');
    await deliverer.deliverDue();
    expect(outboxRows(db)[0]).toMatchObject({
      Status: 'Pending',
      Attempts: 1,
      LastAnswer: 'cancelled before the server answered',
    });
    receiver.failNext({ kind: 'status', status: 503 }, 100);
    for (let i = 0; i < 30 && outboxRows(db)[0]?.Status === 'Pending'; i++) {
      time.advance(60_000);
      await deliverer.deliverDue();
    }
    const [row] = outboxRows(db);
    expect(row?.Status).toBe('Expired');
    expect(row?.LastAnswer).toMatch(
      /^HTTP 503 Service Unavailable: failing on purpose \(undelivered after \d+ attempts; past the maximum age\)$/,
    );
    expect(receiver.accepted()).toHaveLength(0);
  });

  it('a channel no longer declared, or alerts since deleted, fail the row with the reason', async () => {
    const routes: NamedRoute[] = [{ name: 'r', spec: { channels: ['gone', 'ops-hook'], groupWait: '0s' } }];
    const { alerts, deliverer } = setup(routes, { 'ops-hook': webhookChannel(receiver.url) });
    alerts.raise(cpuAlert('web-01'), 'rmm serve');
    db.prepare('DELETE FROM Alerts').run();
    await deliverer.deliverDue();
    expect(outboxRows(db).map((r) => [r.Channel, r.Status, r.LastAnswer])).toEqual([
      ['gone', 'Failed', 'its alerts no longer exist (their device was removed)'],
      ['ops-hook', 'Failed', 'its alerts no longer exist (their device was removed)'],
    ]);
    alerts.raise(cpuAlert('web-02'), 'rmm serve');
    await deliverer.deliverDue();
    expect(
      outboxRows(db)
        .slice(2)
        .map((r) => [r.Channel, r.Status, r.LastAnswer]),
    ).toEqual([
      ['gone', 'Failed', 'no NotificationChannel named gone is declared'],
      ['ops-hook', 'Delivered', 'HTTP 200 OK: ok'],
    ]);
  });
});
