import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sender } from '../../src/notify/content.js';
import { Deliverer } from '../../src/notify/deliverer.js';
import type { NamedRoute } from '../../src/notify/routes.js';
import { NotificationStep } from '../../src/service/notifications.js';
import { memoryLog } from '../../src/service/service-log.js';
import type { Db } from '../../src/state/connection.js';
import { waitFor } from '../helpers/wait.js';
import { webhookChannel } from '../helpers/webhook-channel.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { cpuAlert, outboxRows, storesWithOutbox } from '../notify/helpers.js';
import { consoleDb, declare, serviceOn } from './helpers.js';

/**
 * The notification step in rmm serve's ticks, on an injected clock against a real database and a
 * real loopback receiver: delivery beside the cycle, --once waiting for what is due, repeats that a
 * restart neither forgets nor doubles, and a stop that leaves a cut send Pending for the next serve.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'rmm-serve-notify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
let files = 0;
let db: Db;
let receiver: WebhookReceiver;
beforeEach(async () => {
  db = consoleDb(dir, `db-${++files}`);
  declare(db, { devices: [{ name: 'web-01', groups: [] }] });
  receiver = await startWebhookReceiver();
});
afterEach(async () => {
  db.close();
  await receiver.close();
});

/** A serve's notification parts over the shared database, as serve.ts assembles them. */
function serveParts(clock: { time: number }, routes: NamedRoute[], sender: Sender) {
  const now = () => clock.time;
  const stores = storesWithOutbox(db, { now, routes, devices: ['web-01'] });
  const deliverer = new Deliverer({
    outbox: stores.outbox,
    senderOf: () => sender,
    now,
    random: () => 0.5,
    log: memoryLog(),
  });
  const step = new NotificationStep({
    db,
    outbox: stores.outbox,
    alerts: stores.alerts,
    deliverer,
    routing: () => stores.state,
    maintenanceOf: () => null,
    log: memoryLog(),
    keepDays: 7,
  });
  const { service, lease } = serviceOn(db, clock, { notifications: step });
  return { ...stores, service, lease };
}

describe('rmm serve delivers notifications beside its cycle', () => {
  it('--once (tick, then idle) sends what is due and waits for it', async () => {
    const clock = { time: T0 };
    const routes: NamedRoute[] = [{ name: 'r', spec: { channels: ['ops'], groupWait: '0s' } }];
    const { alerts, service } = serveParts(clock, routes, webhookChannel(receiver.url));
    alerts.raise(cpuAlert('web-01'), 'rmm serve');
    await service.tick();
    await service.idle();
    expect(outboxRows(db).map((r) => r.Status)).toEqual(['Delivered']);
    expect(receiver.accepted()).toHaveLength(1);
    await service.stop('done');
  });

  it('repeats an open alert every repeatEvery, counted from the outbox, across a restart', async () => {
    const clock = { time: T0 };
    const routes: NamedRoute[] = [
      { name: 'r', spec: { channels: ['ops'], groupWait: '0s', repeatEvery: '1h' } },
    ];
    const first = serveParts(clock, routes, webhookChannel(receiver.url));
    first.alerts.raise(cpuAlert('web-01'), 'rmm serve');
    await first.service.tick();
    await first.service.idle();
    clock.time += HOUR / 2;
    await first.service.tick();
    await first.service.idle();
    await first.service.stop('restart');
    // A new serve, an hour after the fire: one repeat, not two, and none half an hour later.
    clock.time = T0 + HOUR;
    const second = serveParts(clock, routes, webhookChannel(receiver.url));
    await second.service.tick();
    await second.service.idle();
    clock.time += HOUR / 2;
    await second.service.tick();
    await second.service.idle();
    expect(outboxRows(db).map((r) => [r.Event, r.Status])).toEqual([
      ['fire', 'Delivered'],
      ['repeat', 'Delivered'],
    ]);
    first.alerts.acknowledge(first.alerts.open()[0]?.id as string, { by: 'ann' });
    clock.time += 2 * HOUR;
    await second.service.tick();
    await second.service.idle();
    expect(outboxRows(db)).toHaveLength(2); // acknowledged: quiet
    await second.service.stop('done');
  });

  it('deletes finished rows past retention, hourly; a Pending row stays whatever its age', async () => {
    const clock = { time: T0 };
    const routes: NamedRoute[] = [{ name: 'r', spec: { channels: ['ops', 'dead'], groupWait: '0s' } }];
    const sender = webhookChannel(receiver.url);
    const { alerts, service } = serveParts(clock, routes, sender);
    alerts.raise(cpuAlert('web-01'), 'rmm serve');
    // The dead channel's row stays Pending: its retries are never due in this test.
    db.prepare("UPDATE Notifications SET NextAttemptAt = ? WHERE Channel = 'dead'").run(T0 + 400 * 24 * HOUR);
    await service.tick();
    await service.idle();
    clock.time += 7 * 24 * HOUR - 1;
    await service.tick();
    expect(outboxRows(db).map((r) => [r.Channel, r.Status])).toEqual([
      ['ops', 'Delivered'],
      ['dead', 'Pending'],
    ]);
    clock.time += HOUR;
    await service.tick();
    expect(outboxRows(db).map((r) => [r.Channel, r.Status])).toEqual([['dead', 'Pending']]);
    // What was delivered stays on the alert.
    expect(alerts.get(alerts.open()[0]?.id as string)?.id).toBeDefined();
    expect(db.prepare('SELECT NotificationsSent FROM Alerts').pluck().get()).toContain('"channel":"ops"');
    await service.stop('done');
  });

  it('stop() cuts a hanging send: the row stays Pending, and the next serve sends it with the same key', async () => {
    const clock = { time: T0 };
    const routes: NamedRoute[] = [{ name: 'r', spec: { channels: ['ops'], groupWait: '0s' } }];
    receiver.failNext({ kind: 'hang' });
    const first = serveParts(clock, routes, webhookChannel(receiver.url, { timeout: '60s' }));
    first.alerts.raise(cpuAlert('web-01'), 'rmm serve');
    await first.service.tick(); // the send starts and hangs; the tick returns at once
    await waitFor('the hanging request', () => (receiver.requests.length === 1 ? true : undefined));
    await first.service.stop('SIGTERM');
    expect(outboxRows(db).map((r) => [r.Status, r.Attempts])).toEqual([['Pending', 0]]);
    const second = serveParts(clock, routes, webhookChannel(receiver.url));
    await second.service.tick();
    await second.service.idle();
    const id = outboxRows(db)[0]?.NotificationId;
    expect(outboxRows(db).map((r) => r.Status)).toEqual(['Delivered']);
    expect(receiver.requests.map((r) => r.headers['idempotency-key'])).toEqual([id, id]);
    await second.service.stop('done');
  });
});
