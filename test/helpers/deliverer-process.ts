import { Deliverer } from '../../src/notify/deliverer.js';
import { outboxStore } from '../../src/notify/outbox-store.js';
import { memoryLog } from '../../src/service/service-log.js';
import { openDatabase } from '../../src/state/connection.js';
import { webhookChannel } from './webhook-channel.js';

/**
 * rmm serve's delivery as a process of its own, to be killed: `node --import tsx deliverer-process.ts
 * DB URL`. It delivers the outbox's rows through the product's webhook sender to URL on the real
 * clock (retries after at most 200 ms, so a test's faults clear fast), pumping every 10 ms, and exits
 * printing `done` when nothing is Pending, or after 60 s.
 */
const [file, url] = process.argv.slice(2);
if (!file || !url) throw new Error('usage: deliverer-process.ts DB URL');
const db = openDatabase(file);
const outbox = outboxStore(db);
const sender = webhookChannel(url, { timeout: '2s' });
const deliverer = new Deliverer({
  outbox,
  senderOf: () => sender,
  now: Date.now,
  random: Math.random,
  log: memoryLog(),
  policy: { baseMs: 50, capMs: 200, maxAgeMs: 3_600_000 },
  perChannel: 8,
  overall: 16,
});
const pending = db.prepare("SELECT count(*) FROM Notifications WHERE Status = 'Pending'").pluck();
const deadline = Date.now() + 60_000;
const timer = setInterval(() => {
  deliverer.pump(true);
  if ((pending.get() as number) === 0 || Date.now() > deadline) {
    clearInterval(timer);
    process.stdout.write(`${(pending.get() as number) === 0 ? 'done' : 'gave up'}\n`);
    db.close();
  }
}, 10);
