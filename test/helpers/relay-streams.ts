import { randomUUID } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';

/**
 * The console's side of the relay wire protocol, as the issue 14 design note specifies it, for the
 * relay agent's tests: the streams and consumers created, work messages published, reports read.
 * (The console-side plugin is written apart; these tests hold the agent to the note, not to it.)
 */
const NS = 1_000_000;

export interface ConsoleSide {
  nc: NatsConnection;
  /** Publishes a work message with `Nats-Msg-Id: <actionId>`; returns the stream sequence. */
  submit(relay: string, body: unknown, msgId?: string): Promise<number>;
  /** Publishes raw bytes (a bad message), with an optional msg id. */
  submitRaw(relay: string, bytes: Uint8Array | string, msgId?: string): Promise<number>;
  /**
   * Reads (and acks) the reports waiting for this relay, at most `max`, waiting `waitMs` for them;
   * each goes into `sink` as it is acked, so a fetch that fails halfway loses none it acked.
   */
  reports(relay: string, options?: { max?: number; waitMs?: number; sink?: Report[] }): Promise<Report[]>;
  /** Work messages still in RMM_WORK for this relay (not acked or termed yet; nak'd ones count). */
  pendingWork(relay: string): Promise<number>;
  close(): Promise<void>;
}

export interface Report {
  msgId: string | undefined;
  body: Record<string, unknown>;
}

export interface ConsoleSideOptions {
  user?: string;
  pass?: string;
  /** The work consumers' ack_wait: the design's 60 s, shorter where a test waits for a redelivery. */
  ackWaitMs?: number;
  /** The CA of a server that speaks TLS. */
  caFile?: string;
}

export async function consoleSide(
  url: string,
  relays: readonly string[],
  options: ConsoleSideOptions = {},
): Promise<ConsoleSide> {
  const nc = await connect({
    servers: url,
    name: 'rmm-test-console',
    ...(options.user ? { user: options.user, pass: options.pass ?? '' } : {}),
    ...(options.caFile ? { tls: { caFile: options.caFile } } : {}),
  });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: 'RMM_WORK',
    subjects: ['rmm.work.*'],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: 24 * 3600 * 1000 * NS,
    max_msg_size: 262_144,
    discard: DiscardPolicy.New,
  });
  await jsm.streams.add({
    name: 'RMM_RESULTS',
    subjects: ['rmm.results.*'],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: 24 * 3600 * 1000 * NS,
    max_msg_size: 1_048_576,
  });
  for (const relay of relays) await addRelayConsumers(nc, relay, options.ackWaitMs);
  const js = jetstream(nc);
  const publish = async (relay: string, bytes: Uint8Array | string, msgId?: string) => {
    const ack = await js.publish(`rmm.work.${relay}`, bytes, msgId ? { msgID: msgId } : {});
    return ack.seq;
  };
  return {
    nc,
    submit: (relay, body, msgId) =>
      publish(relay, JSON.stringify(body), msgId ?? (body as { actionId?: string }).actionId),
    submitRaw: publish,
    async reports(relay, options = {}) {
      const consumer = await js.consumers.get('RMM_RESULTS', `console-${relay}`);
      const batch = await consumer.fetch({
        max_messages: options.max ?? 1000,
        expires: Math.max(1000, options.waitMs ?? 1000),
      });
      const out: Report[] = options.sink ?? [];
      for await (const m of batch as AsyncIterable<JsMsg>) {
        out.push({ msgId: m.headers?.get('Nats-Msg-Id') || undefined, body: m.json() });
        m.ack();
      }
      return out;
    },
    async pendingWork(relay) {
      // A work-queue stream keeps a message until it is acked or termed (a nak'd one stays).
      const info = await jsm.streams.info('RMM_WORK', { subjects_filter: `rmm.work.${relay}` });
      return info.state.subjects?.[`rmm.work.${relay}`] ?? 0;
    },
    close: () => nc.close(),
  };
}

/** The two durable pull consumers of one relay, as the design note specifies them. */
export async function addRelayConsumers(
  nc: NatsConnection,
  relay: string,
  ackWaitMs = 60_000,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add('RMM_WORK', {
    durable_name: relay,
    filter_subject: `rmm.work.${relay}`,
    ack_policy: AckPolicy.Explicit,
    ack_wait: ackWaitMs * NS,
    max_deliver: -1,
    deliver_policy: DeliverPolicy.All,
  });
  await jsm.consumers.add('RMM_RESULTS', {
    durable_name: `console-${relay}`,
    filter_subject: `rmm.results.${relay}`,
    ack_policy: AckPolicy.Explicit,
    ack_wait: 60_000 * NS,
  });
}

/** A work message body as the console sends it (`QueuedAction` plus `v: 1`). */
export function workMessage(
  device: { name: string; host: string; transport: Record<string, unknown> },
  command: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    v: 1,
    actionId: randomUUID(),
    type: 'exec',
    device: { os: 'linux', ...device },
    command,
    timeoutMs: 30_000,
    connectTimeoutMs: 10_000,
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    ...overrides,
  };
}

export { headers };

/**
 * The nats-server authorization of a console user and relays, with exactly the permissions the
 * design note gives a relay: its own results subject, consumer info and pull on its own work
 * consumer, acks of its own work messages, and replies on its own inbox prefix.
 */
export function relayAuthorization(
  console: { user: string; pass: string },
  relays: Record<string, string>,
): string {
  const relayUsers = Object.entries(relays).map(
    ([name, pass]) => `    {user: "${name}", password: "${pass}", permissions: {
      publish: {allow: ["rmm.results.${name}", "$JS.API.CONSUMER.INFO.RMM_WORK.${name}", "$JS.API.CONSUMER.MSG.NEXT.RMM_WORK.${name}", "$JS.ACK.RMM_WORK.${name}.>"]}
      subscribe: {allow: ["_INBOX_${name}.>"]}
    }}`,
  );
  return [
    'authorization {',
    '  users = [',
    `    {user: "${console.user}", password: "${console.pass}"}`,
    ...relayUsers,
    '  ]',
    '}',
  ].join('\n');
}
