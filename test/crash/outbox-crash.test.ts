import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NamedRoute } from '../../src/notify/routes.js';
import { consoleDatabase } from '../helpers/console-db.js';
import { waitFor } from '../helpers/wait.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';
import { clock, cpuAlert, storesWithOutbox } from '../notify/helpers.js';

/**
 * kill -9 during delivery: a burst of notifications in a real SQLite outbox, delivered by a child
 * process running the deliverer (the product's webhook sender, a real loopback receiver failing now
 * and then), killed with SIGKILL at random moments and restarted until the outbox is empty. Every
 * notification must arrive at least once; a repeat carries the same idempotency key, so receivers
 * can drop it, and the test reports how many there were.
 */
const repoRoot = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'rmm-outbox-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DEVICES = Array.from({ length: 150 }, (_, i) => `web-${String(i).padStart(3, '0')}`);
const MAX_RUNS = 40;

function startDeliverer(file: string, url: string): { child: ChildProcess; done: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/deliverer-process.ts', file, url], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const done = new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => resolve(`${code ?? signal}: ${out}${err}`)),
  );
  return { child, done };
}

describe('kill -9 of the deliverer during a burst', { timeout: 180_000 }, () => {
  it('delivers every notification at least once across SIGKILLs and restarts, repeats only with the same key', async () => {
    const receiver = await startWebhookReceiver();
    const file = path.join(dir, 'outbox.db');
    const db = consoleDatabase(file, DEVICES);
    try {
      const routes: NamedRoute[] = [{ name: 'r', spec: { channels: ['hook-a', 'hook-b'], groupWait: '0s' } }];
      const { alerts } = storesWithOutbox(db, { now: clock(Date.now()).now, routes, devices: DEVICES });
      for (const device of DEVICES) alerts.raise(cpuAlert(device), 'rmm serve');
      const owed = db.prepare('SELECT NotificationId FROM Notifications').pluck().all() as string[];
      expect(owed).toHaveLength(2 * DEVICES.length);
      const pending = db.prepare("SELECT count(*) FROM Notifications WHERE Status = 'Pending'").pluck();

      let kills = 0;
      for (let run = 0; run < MAX_RUNS && (pending.get() as number) > 0; run++) {
        // Faults the retries must get through, different each run.
        receiver.failNext({ kind: 'status', status: 500 }, 1 + (run % 3));
        receiver.failNext({ kind: 'reset' });
        const { child, done } = startDeliverer(file, receiver.url);
        const last = run === MAX_RUNS - 1;
        if (!last) {
          const seen = receiver.requests.length;
          const target = seen + 1 + Math.floor(Math.random() * 60);
          const ended = await Promise.race([
            waitFor(
              'requests during the burst',
              () => (receiver.requests.length >= target ? 'kill' : undefined),
              {
                timeoutMs: 30_000,
                intervalMs: 2,
              },
            ),
            done.then(() => 'ended'),
          ]);
          if (ended === 'kill') {
            child.kill('SIGKILL');
            kills++;
          }
        }
        const outcome = await done;
        expect(outcome).not.toContain('Error');
      }

      const keys = receiver.accepted().map((r) => r.headers['idempotency-key'] as string);
      const unique = new Set(keys);
      // None lost: every owed notification reached the receiver (2xx) at least once.
      expect(owed.filter((id) => !unique.has(id))).toEqual([]);
      expect([...unique].every((key) => owed.includes(key))).toBe(true);
      const duplicates = keys.length - unique.size;
      console.log(
        `outbox kill -9: ${owed.length} notifications, ${kills} SIGKILLs, ${keys.length} accepted requests, ${duplicates} duplicates by idempotency key`,
      );
      expect(pending.get()).toBe(0);
      expect(kills).toBeGreaterThan(2);
      // Every row Delivered once in the database, whatever the receiver saw.
      expect(db.prepare("SELECT count(*) FROM Notifications WHERE Status = 'Delivered'").pluck().get()).toBe(
        owed.length,
      );
      const sent = db.prepare('SELECT json_array_length(NotificationsSent) FROM Alerts').pluck().all();
      expect(sent.every((n) => n === 2)).toBe(true);
    } finally {
      db.close();
      await receiver.close();
    }
  });
});
