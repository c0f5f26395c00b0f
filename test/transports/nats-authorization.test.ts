import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueConnection, QueuedAction } from '../../src/plugin/api.js';
import {
  natsGrants,
  relayPasswordVariable,
  renderNatsAuthorization,
} from '../../src/transports/nats-authorization.js';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { waitFor } from '../helpers/wait.js';
import { FarSide, fetchReports, openQueue, route, secret } from '../transport/relay/far-side.js';

/**
 * The authorization `rmm relay config` generates, enforced by Debian's real nats-server: the
 * console can do everything the relay plugin does; relay-alpha can make exactly the relay agent's
 * calls on its own subjects and reach nothing of relay-beta's.
 */
const PASSWORDS = {
  RMM_NATS_CONSOLE_PASSWORD: 'console-secret-7f3a',
  RMM_NATS_RELAY_ALPHA_PASSWORD: 'alpha-secret-91bc',
  RMM_NATS_RELAY_BETA_PASSWORD: 'beta-secret-04de',
};
let nats: NatsServer;
beforeAll(async () => {
  const config = renderNatsAuthorization(
    natsGrants({ consoleUser: 'rmm-console', relays: ['relay-beta', 'relay-alpha'] }),
  );
  nats = await startNatsServer({ config, env: PASSWORDS });
});
afterAll(async () => {
  await nats?.remove();
});

const action = (): QueuedAction => ({
  actionId: randomUUID(),
  type: 'exec',
  device: {
    name: 'web-01',
    host: '10.0.0.5',
    os: 'linux',
    transport: { type: 'ssh', credentialRef: 'file:/k' },
  },
  command: 'uptime',
  timeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  expiresAt: '2026-12-04T02:00:00.000Z',
});
const asRelay = (relay: 'relay-alpha' | 'relay-beta', password: string) =>
  FarSide.connect(nats.url, relay, { user: relay, pass: password });
const openAsConsole = (relay: string) =>
  openQueue(route(relay, [nats.url]), { secret: secret(PASSWORDS.RMM_NATS_CONSOLE_PASSWORD) });
/** The call fails, for the reason given (the server's permission check, by default). */
const refused = async (what: () => Promise<unknown>, reason = /Permissions Violation/) => {
  let outcome: unknown;
  try {
    outcome = await what();
  } catch (error) {
    expect(String((error as Error).message)).toMatch(reason);
    return error;
  }
  throw new Error(`expected a refusal, got ${JSON.stringify(outcome)}`);
};

describe('the generated nats-server authorization', () => {
  it('names passwords as environment variables, never values', () => {
    const text = renderNatsAuthorization(natsGrants({ consoleUser: 'rmm-console', relays: ['relay-alpha'] }));
    expect(text).toContain('password: $RMM_NATS_CONSOLE_PASSWORD');
    expect(text).toContain('password: $RMM_NATS_RELAY_ALPHA_PASSWORD');
    expect(relayPasswordVariable('site-2-relay')).toBe('RMM_NATS_SITE_2_RELAY_PASSWORD');
    // Subjects starting with $ are quoted: unquoted, nats-server would read $JS as a variable.
    expect(text).toContain('"$JS.API.CONSUMER.MSG.NEXT.RMM_WORK.relay-alpha"');
  });

  it('lets the console and each relay do the whole round trip, on their own subjects', async () => {
    let alphaQueue: QueueConnection | undefined;
    let betaQueue: QueueConnection | undefined;
    const alpha = await asRelay('relay-alpha', PASSWORDS.RMM_NATS_RELAY_ALPHA_PASSWORD);
    try {
      alphaQueue = await openAsConsole('relay-alpha');
      betaQueue = await openAsConsole('relay-beta');
      const [forAlpha, forBeta] = [action(), action()];
      expect((await alphaQueue.submit([forAlpha]))[0]?.accepted).toBe(true);
      expect((await betaQueue.submit([forBeta]))[0]?.accepted).toBe(true);
      // The console can withdraw what waits, and look at what a relay took.
      const withdrawn = action();
      const [queued] = await betaQueue.submit([withdrawn]);
      expect(await betaQueue.cancel?.(withdrawn.actionId, (queued as { receipt: string }).receipt)).toBe(
        'withdrawn',
      );

      // The agent's calls: consumer info, pull, working, ack, publish its reports.
      const [work] = await alpha.pull(5);
      expect(work?.headers?.get('Nats-Msg-Id')).toBe(forAlpha.actionId);
      work?.working();
      const id = forAlpha.actionId;
      await alpha.report(
        { v: 1, kind: 'started', actionId: id, at: '2026-12-03T10:00:01Z' },
        `${id}.started`,
      );
      expect(await work?.ackAck()).toBe(true);

      const reports = await fetchReports(alphaQueue, 1);
      expect(reports.map((r) => r.report)).toEqual([
        { kind: 'started', actionId: id, at: '2026-12-03T10:00:01.000Z' },
      ]);
      await alphaQueue.ack(reports);
    } finally {
      await alpha.close();
      await alphaQueue?.close();
      await betaQueue?.close();
    }
  });

  it("refuses relay-alpha everything of relay-beta's, and anything beyond the agent's calls", async () => {
    const betaQueue = await openAsConsole('relay-beta');
    const alpha = await asRelay('relay-alpha', PASSWORDS.RMM_NATS_RELAY_ALPHA_PASSWORD);
    const betaWork = action();
    try {
      await betaQueue.submit([betaWork]);
      const js = jetstream(alpha.nc);
      const nc = alpha.nc;
      // beta's consumer: no info, no pull.
      await refused(() => js.consumers.get('RMM_WORK', 'relay-beta'));
      await refused(() =>
        nc.request('$JS.API.CONSUMER.MSG.NEXT.RMM_WORK.relay-beta', JSON.stringify({ batch: 1 }), {
          timeout: 1000,
        }),
      );
      // The stream itself: no reading messages by sequence, no consumers of its own.
      await refused(() =>
        nc.request('$JS.API.STREAM.MSG.GET.RMM_WORK', JSON.stringify({ seq: 1 }), { timeout: 1000 }),
      );
      await refused(() =>
        nc.request(
          '$JS.API.CONSUMER.CREATE.RMM_WORK',
          JSON.stringify({ stream_name: 'RMM_WORK', config: { filter_subject: 'rmm.work.relay-beta' } }),
          { timeout: 1000 },
        ),
      );
      // No listening on the subjects or on the console's inbox.
      for (const subject of ['rmm.work.>', 'rmm.results.>', '_INBOX.>', '_INBOX_relay-beta.>']) {
        const sub = nc.subscribe(subject);
        await refused(() =>
          sub.closed.then((error) => (error ? Promise.reject(error) : 'closed without error')),
        );
      }
      // No reports in beta's name, no work for anyone.
      await refused(() => js.publish('rmm.results.relay-beta', '{}', { timeout: 1000 }));
      await refused(() => js.publish('rmm.work.relay-alpha', '{}', { timeout: 1000 }));
      await refused(() => js.publish('rmm.work.relay-beta', '{}', { timeout: 1000 }));

      // beta's work is untouched, and beta (as itself) gets it.
      const beta = await asRelay('relay-beta', PASSWORDS.RMM_NATS_RELAY_BETA_PASSWORD);
      try {
        // (The round trip above left beta's first action queued too.)
        const got = await beta.pull(5);
        expect(got.map((m) => m.headers?.get('Nats-Msg-Id'))).toContain(betaWork.actionId);
        for (const m of got) await m.ackAck();
      } finally {
        await beta.close();
      }
      expect(await betaQueue.fetch({ max: 10, waitMs: 1000 })).toEqual([]);
      // The server logs each refusal with the user: what an operator reads after an attempt.
      await waitFor('the server to log the refusals', async () =>
        (await readFile(nats.logPath, 'utf8')).includes(
          'Subscription Violation - User "relay-alpha", Subject "_INBOX_relay-beta.>"',
        )
          ? true
          : undefined,
      );
    } finally {
      await alpha.close();
      await betaQueue.close();
    }
  });

  it("refuses a relay's user with another relay's password, and the console's password to a relay", async () => {
    await refused(() => asRelay('relay-alpha', PASSWORDS.RMM_NATS_RELAY_BETA_PASSWORD), /Authorization/i);
    await refused(() => asRelay('relay-beta', PASSWORDS.RMM_NATS_CONSOLE_PASSWORD), /Authorization/i);
    const wrong = openQueue(route('relay-alpha', [nats.url]), { secret: secret('not-the-password-5511') });
    const error = await refused(() => wrong, /Authorization/i);
    expect(error).toMatchObject({ name: 'TransportError', code: 'auth-failed' });
    expect(String((error as Error).message)).not.toContain('not-the-password-5511');
  });
});
