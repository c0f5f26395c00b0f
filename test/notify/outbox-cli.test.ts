import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deliverer } from '../../src/notify/deliverer.js';
import type { NamedRoute } from '../../src/notify/routes.js';
import { memoryLog } from '../../src/service/service-log.js';
import { runCli } from '../helpers/cli.js';
import { consoleDatabase } from '../helpers/console-db.js';
import { webhookChannel } from '../helpers/webhook-channel.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { clock, cpuAlert, storesWithOutbox } from './helpers.js';

/**
 * What people see of the outbox, through the real CLI on a real database: an alert's notifications
 * in rmm alerts show, the outbox by channel and the last failure in rmm status. The rows come from
 * real deliveries to a loopback receiver: one delivered, one retried after a 503, one refused (404).
 */
let cwd: string;
let receiver: WebhookReceiver;
let alertId: string;
const rmm = (...args: string[]) => runCli(args, { cwd });
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);

beforeAll(async () => {
  cwd = mkdtempSync(path.join(tmpdir(), 'rmm-outbox-cli-'));
  mkdirSync(path.join(cwd, 'data'), { mode: 0o700 });
  receiver = await startWebhookReceiver();
  const db = consoleDatabase(path.join(cwd, 'data', 'devices.db'), ['web-01']);
  try {
    const time = clock(T0);
    const routes: NamedRoute[] = [
      { name: 'to-all', spec: { channels: ['flaky', 'good', 'wrong'], groupWait: '0s' } },
    ];
    const { alerts, outbox } = storesWithOutbox(db, { now: time.now, routes, devices: ['web-01'] });
    alertId = (alerts.raise(cpuAlert('web-01'), 'rmm serve') as { id: string }).id;
    receiver.failNext({ kind: 'status', status: 503 });
    const senders = {
      flaky: webhookChannel(receiver.url),
      good: webhookChannel(receiver.url),
      wrong: webhookChannel(`${receiver.url}/nope`),
    };
    const senderOf = (c: string) => senders[c as keyof typeof senders];
    const deliverer = new Deliverer({
      outbox,
      senderOf,
      now: time.now,
      random: () => 0.5,
      log: memoryLog(),
      perChannel: 1,
      overall: 1,
    });
    await deliverer.deliverDue();
  } finally {
    db.close();
  }
}, 60_000);
afterAll(async () => {
  await receiver.close();
  rmSync(cwd, { recursive: true, force: true });
});

describe('the outbox in rmm alerts show and rmm status', { timeout: 60_000 }, () => {
  it('rmm alerts show lists the notifications that carry the alert, with status, attempts and the last answer', async () => {
    const result = await rmm('alerts', 'show', alertId);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    const at = lines.indexOf('Notifications (outbox):');
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 5).map((l) => l.replace(/ +/g, ' ').trim())).toEqual([
      'CHANNEL EVENT STATUS ATTEMPTS WHEN LAST ANSWER',
      'flaky fire Pending 1 retries at 2026-06-01T12:00:02.500Z HTTP 503 Service Unavailable: failing on purpose',
      'good fire Delivered 1 delivered 2026-06-01T12:00:00.000Z HTTP 200 OK: ok',
      'wrong fire Failed 1 failed 2026-06-01T12:00:00.000Z HTTP 404 Not Found: no such hook',
    ]);
    expect(result.stdout).toContain(
      'Notifications sent: [{"channel":"good","event":"fire","at":"2026-06-01 12:00:00"',
    );
    const json = JSON.parse((await rmm('alerts', 'show', alertId, '--json')).stdout);
    expect(json.maintenance).toBeNull();
    expect(json.notifications.map((n: { channel: string; status: string }) => [n.channel, n.status])).toEqual(
      [
        ['flaky', 'Pending'],
        ['good', 'Delivered'],
        ['wrong', 'Failed'],
      ],
    );
  });

  it('rmm status shows pending, failed and expired per channel and the last failure', async () => {
    const result = await rmm('status');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'Notifications: flaky 1 pending, 0 failed, 0 expired; wrong 0 pending, 1 failed, 0 expired\n',
    );
    expect(result.stdout).toMatch(
      /Last failure: (flaky|wrong) at 2026-06-01T12:00:00.000Z \((Pending|Failed)\): HTTP/,
    );
    const json = JSON.parse((await rmm('status', '--json')).stdout);
    expect(json.notifications.channels).toEqual({
      flaky: { pending: 1, failed: 0, expired: 0 },
      wrong: { pending: 0, failed: 1, expired: 0 },
    });
  });
});
