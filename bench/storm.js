// The alert storm (issue 13), run by bench/run.js in a fresh process (with tsx, for the tests' real
// loopback receiver): 10,000 devices of one site fire in one cycle, through rmm serve's real path:
// the alert store writes each alert with the notifications it owes in one transaction (the outbox),
// and the deliverer sends them through the product's webhook sender to the receiver in this process.
//   grouping off (groupWait 0s): one notification per alert; seconds to deliver all, none lost, and
//   the duplicates the receiver saw (by idempotency key);
//   grouping on (groupWait 30s): how many messages the same storm becomes (alerts of 5 monitors).
// Prints one JSON line. RMM_STORM_ALERTS shrinks it for a quick look.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { alertStore } from '../dist/monitoring/alert-store.js';
import { Deliverer } from '../dist/notify/deliverer.js';
import { outboxStore } from '../dist/notify/outbox-store.js';
import { oweToOutbox } from '../dist/notify/owe.js';
import { deviceScope } from '../dist/notify/routes.js';
import { webhookSender } from '../dist/notify/webhook.js';
import { memoryLog } from '../dist/service/service-log.js';
import { openDatabase } from '../dist/state/connection.js';
import { loadDeclaredSchema } from '../dist/state/declared-schema.js';
import { applyMigration } from '../dist/state/migrate.js';
import { pendingMigration } from '../dist/state/pending-migration.js';
import { startWebhookReceiver } from '../test/helpers/webhook-receiver.ts';

const ALERTS = Number(process.env.RMM_STORM_ALERTS ?? 10_000);
const dir = process.argv[2] ?? path.join(import.meta.dirname, '.work', 'storm');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const names = Array.from({ length: ALERTS }, (_, d) => `dev-${String(d).padStart(5, '0')}`);
const MONITORS = ['cpu-high', 'memory-high', 'disk-full', 'load-high', 'swap-high'];

async function storm(label, groupWait) {
  const db = openDatabase(path.join(dir, `${label}.db`));
  applyMigration(db, pendingMigration(db, loadDeclaredSchema()).plan, { allowDestructive: false });
  const insert = db.prepare("INSERT INTO Devices (DeviceId, Hostname, SiteId) VALUES (?, ?, 'main')");
  db.transaction(() => {
    for (const name of names) insert.run(name, name);
  })();
  const receiver = await startWebhookReceiver();
  const urlFile = path.join(dir, `${label}.url`);
  writeFileSync(urlFile, `${receiver.url}\n`);
  const sender = webhookSender(
    'storm-hook',
    { url: `file:${urlFile}` },
    { policy: { envPrefixes: ['RMM_'], dirs: [dir] }, userAgent: 'rmm/bench' },
  );
  let now = Date.now();
  const clock = () => now;
  const outbox = outboxStore(db);
  const scope = deviceScope({ site: 'main', groups: [], labels: {} }, new Map());
  const routing = {
    routes: [{ name: 'all', spec: { channels: ['storm-hook'], groupWait } }],
    scopeOf: () => scope,
  };
  const alerts = alertStore(db, { now: clock, owes: oweToOutbox(outbox, () => routing) });

  // One cycle: every device fires (the store writes each alert and its outbox rows together).
  const raiseStart = performance.now();
  for (const [i, device] of names.entries()) {
    const monitor = MONITORS[i % MONITORS.length];
    alerts.raise(
      {
        device,
        alertType: 'monitor',
        severity: 'Critical',
        title: `${monitor} on ${device}`,
        message: 'value 97 > 90',
        source: `bench/${monitor}`,
        instance: '',
      },
      'rmm serve',
    );
  }
  const raiseMs = performance.now() - raiseStart;
  const owed = db.prepare('SELECT NotificationId FROM Notifications').pluck().all();

  // Delivery as rmm serve runs it: the deliverer's defaults, pumped each 100 ms tick, on the real
  // clock once the grouping window has passed.
  now += Number.parseInt(groupWait, 10) * 1000;
  const deliverer = new Deliverer({
    outbox,
    senderOf: () => sender,
    now: clock,
    random: Math.random,
    log: memoryLog(),
  });
  const pending = db.prepare("SELECT count(*) FROM Notifications WHERE Status = 'Pending'").pluck();
  const deliverStart = performance.now();
  for (let tick = 0; tick < 100_000 && pending.get() > 0; tick++) {
    deliverer.pump(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    now = Date.now() + Number.parseInt(groupWait, 10) * 1000;
  }
  await deliverer.idle();
  const deliverMs = performance.now() - deliverStart;
  const keys = receiver.accepted().map((r) => r.headers['idempotency-key']);
  const unique = new Set(keys);
  const result = {
    alerts: ALERTS,
    groupWait,
    notifications: owed.length,
    raiseMs,
    deliverMs,
    requests: receiver.requests.length,
    accepted: keys.length,
    lost: owed.filter((id) => !unique.has(id)).length,
    duplicates: keys.length - unique.size,
    delivered: db.prepare("SELECT count(*) FROM Notifications WHERE Status = 'Delivered'").pluck().get(),
    alertsInMessages: receiver.accepted().reduce((n, r) => n + JSON.parse(r.body).alertCount, 0),
  };
  await receiver.close();
  db.close();
  return result;
}

const started = performance.now();
const off = await storm('grouping-off', '0s');
const on = await storm('grouping-on', '30s');
console.log(JSON.stringify({ timedMs: performance.now() - started, off, on }));
