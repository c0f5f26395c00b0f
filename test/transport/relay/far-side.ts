import { type JsMsg, jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createRelayTransport } from '../../../plugins/relay/src/transport.js';
import type { QueueConnection, QueueRoute, ReceivedReport, Secret } from '../../../src/plugin/api.js';
import { RUNTIME } from '../../../src/transports/registry.js';

/** The relay transport as the hook returns it, with the test's clock. */
export const relayTransport = (now = () => new Date('2026-12-03T10:00:00.000Z')) =>
  createRelayTransport(RUNTIME, { now });

export function secret(value: string, ref = 'env:RMM_NATS_PASSWORD'): Secret {
  return { ref, reveal: () => Buffer.from(value), revealText: () => value };
}

export function route(name: string, servers: string[], extra: Record<string, unknown> = {}): QueueRoute {
  return { name, options: { servers, ...extra } };
}

export async function openQueue(
  r: QueueRoute,
  options: { secret?: Secret; connectTimeoutMs?: number } = {},
): Promise<QueueConnection & { notes?: readonly string[] }> {
  const queue = relayTransport().queue;
  if (!queue) throw new Error('the relay transport has no queue');
  return queue.open(r, { connectTimeoutMs: options.connectTimeoutMs ?? 5000, ...options });
}

/**
 * A test-only relay agent: exactly the NATS calls the design gives the real one (`rmm relay`),
 * nothing more, so the same code checks the wire and the generated authorization.
 */
export class FarSide {
  private constructor(
    readonly relay: string,
    readonly nc: NatsConnection,
  ) {}

  static async connect(
    url: string,
    relay: string,
    auth: { user: string; pass: string; tls?: { caFile: string } } | Record<string, never> = {},
  ): Promise<FarSide> {
    const nc = await connect({
      servers: url,
      ...auth,
      inboxPrefix: `_INBOX_${relay}`,
      name: `rmm-relay ${relay}`,
    });
    return new FarSide(relay, nc);
  }

  /** Pulls up to `max` work messages (not acked). */
  async pull(max: number, expiresMs = 1000): Promise<JsMsg[]> {
    const consumer = await jetstream(this.nc).consumers.get('RMM_WORK', this.relay);
    const messages = await consumer.fetch({ max_messages: max, expires: expiresMs });
    const out: JsMsg[] = [];
    for await (const m of messages) {
      out.push(m);
      if (out.length >= max) break;
    }
    return out;
  }

  async report(body: unknown, msgID?: string, subject = `rmm.results.${this.relay}`): Promise<void> {
    const data = typeof body === 'string' ? body : JSON.stringify(body);
    await jetstream(this.nc).publish(subject, data, msgID ? { msgID } : {});
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}

/** Fetches until `count` reports arrived (bounded), acking none. */
export async function fetchReports(queue: QueueConnection, count: number): Promise<ReceivedReport[]> {
  const got: ReceivedReport[] = [];
  for (let i = 0; i < 20 && got.length < count; i++)
    got.push(...(await queue.fetch({ max: count - got.length, waitMs: 1000 })));
  return got;
}
