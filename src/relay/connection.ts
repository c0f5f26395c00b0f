import { setTimeout as sleep } from 'node:timers/promises';
import { type Consumer, type JsMsg, jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Secret } from '../plugin/api.js';
import type { ServiceLog } from '../service/service-log.js';

/**
 * The relay's one connection to NATS, made OUT from the site (no inbound port), with exactly the
 * calls the generated authorization allows a relay (docs/relay-nats.md): its own inbox prefix,
 * consumer info and pull on RMM_WORK/<name>, acks of its work messages, and publishing to
 * rmm.results.<name>. The client reconnects by itself for as long as the relay runs; each change of
 * state is one log line. The password (from --creds) goes to the client and nowhere else.
 */
export interface WorkMessage {
  data: Uint8Array;
  /** Nats-Msg-Id, as the console set it (the ActionId). */
  msgId: string | undefined;
  /** Delivery number of this message (1 the first time). */
  deliveries: number;
  /** Resets the ack timer (ack_wait 60 s) of a message still being worked on. */
  working(): void;
  ack(): void;
  /** Back to the queue for a later delivery (a relay stopping before it started it). */
  nak(): void;
  /** Never deliver it again (it can never be read). */
  term(): void;
}

export interface WorkBatch extends AsyncIterable<WorkMessage> {
  stop(): void;
}

export interface RelayLink {
  /** Waits (bounded backoff, logged) until the console has created this relay's consumer. */
  waitForConsumer(signal: AbortSignal): Promise<void>;
  /** Pulls up to `max` work messages, yielding each as it arrives, for at most `expiresMs`. */
  fetch(max: number, expiresMs: number): Promise<WorkBatch>;
  /** Publishes a report to rmm.results.<name>; resolves on the stream's PubAck. */
  publish(body: string, msgId?: string): Promise<void>;
  readonly connected: boolean;
  close(): Promise<void>;
}

export interface LinkOptions {
  name: string;
  servers: string[];
  password: Secret;
  /** A CA file for servers with certificates of a private CA (tls:// URLs use the system's otherwise). */
  caFile?: string;
  log: ServiceLog;
}

const CONSUMER_WAIT_MS = [1000, 2000, 5000, 10_000, 30_000];
const CLOSE_DRAIN_MS = 2000;

export async function openRelayLink(options: LinkOptions): Promise<RelayLink> {
  const { name, log } = options;
  const nc: NatsConnection = await connect({
    servers: options.servers,
    user: name,
    pass: options.password.revealText(),
    inboxPrefix: `_INBOX_${name}`,
    name: `rmm-relay ${name}`,
    ...(options.caFile ? { tls: { caFile: options.caFile } } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    waitOnFirstConnect: true,
  });
  let connected = true;
  log.info({ server: nc.getServer() }, 'connected to NATS');
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        connected = false;
        log.warn({ server: status.server }, 'disconnected from NATS; reconnecting');
      } else if (status.type === 'reconnect') {
        connected = true;
        log.info({ server: status.server }, 'reconnected to NATS');
      }
    }
  })().catch(() => {});
  const js = jetstream(nc);
  const subject = `rmm.results.${name}`;
  let consumer: Consumer | undefined;
  return {
    get connected() {
      return connected && !nc.isClosed();
    },
    async waitForConsumer(signal) {
      // Each pause bounded (30 s at most); the loop ends with the relay (signal). The console creates
      // the consumer when it first opens the route, which may be days after the relay is installed.
      for (let attempt = 0; !signal.aborted; attempt++) {
        try {
          consumer = await js.consumers.get('RMM_WORK', name);
          if (attempt > 0) log.info({ consumer: `RMM_WORK/${name}` }, 'found the work consumer');
          return;
        } catch (error) {
          const delay = CONSUMER_WAIT_MS[Math.min(attempt, CONSUMER_WAIT_MS.length - 1)] ?? 30_000;
          log.warn(
            { consumer: `RMM_WORK/${name}`, retryInMs: delay, error: (error as Error).message },
            'waiting for the work consumer, which the console creates when it first opens this relay',
          );
          await sleep(delay, undefined, { signal }).catch(() => {});
        }
      }
    },
    async fetch(max, expiresMs) {
      if (!consumer) throw new Error('rmm bug: fetch before waitForConsumer');
      const messages = await consumer.fetch({ max_messages: max, expires: Math.max(1000, expiresMs) });
      return {
        stop: () => void messages.stop(),
        async *[Symbol.asyncIterator]() {
          for await (const m of messages as AsyncIterable<JsMsg>) yield workMessage(m);
        },
      };
    },
    async publish(body, msgId) {
      await js.publish(subject, body, msgId ? { msgID: msgId } : {});
    },
    async close() {
      // Draining needs the server: without one (or a slow one) the relay closes at once rather
      // than hang its stop; what was not acked comes back to the next start.
      if (connected) await Promise.race([nc.drain().catch(() => {}), sleep(CLOSE_DRAIN_MS)]);
      if (!nc.isClosed()) await nc.close();
    },
  };
}

function workMessage(m: JsMsg): WorkMessage {
  return {
    data: m.data,
    msgId: m.headers?.get('Nats-Msg-Id') || undefined,
    deliveries: m.info.deliveryCount,
    working: () => m.working(),
    ack: () => m.ack(),
    nak: () => m.nak(),
    // Without a reason: nats-server 2.9 ignores a term that carries one (2.10.4 reads it).
    term: () => m.term(),
  };
}
