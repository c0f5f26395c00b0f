import type { ConsumerConfig, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import type { SharedNats } from './nats-pool.js';
import { consumersOf, STREAMS } from './wire.js';

/**
 * Creates the two streams and the route's two durable consumers as the wire protocol declares them
 * (docs/relay-nats.md), once per pooled connection. Creating is idempotent on the server; one that
 * exists with other settings (an operator's replicas for a cluster, say) is left as it is, and the
 * returned notes say so. The relay agent has no rights to create anything: it waits for these.
 */
export function ensureRoute(shared: SharedNats, relay: string): Promise<string[]> {
  const streams = once(shared, 'streams', () => ensureStreams(shared.jsm));
  return once(shared, `route:${relay}`, async () => [
    ...(await streams),
    ...(await ensureConsumers(shared.jsm, relay)),
  ]);
}

function once(shared: SharedNats, key: string, work: () => Promise<string[]>): Promise<string[]> {
  let done = shared.ensured.get(key);
  if (!done) {
    done = work();
    shared.ensured.set(key, done);
    // A failure (NATS away for a moment) is tried again by the next open.
    done.catch(() => shared.ensured.delete(key));
  }
  return done;
}

async function ensureStreams(jsm: JetStreamManager): Promise<string[]> {
  const notes: string[] = [];
  for (const stream of STREAMS) {
    try {
      await jsm.streams.add(stream as unknown as Partial<StreamConfig> & { name: string });
    } catch (error) {
      if (!differentSettings(error)) throw error;
      notes.push(`the stream ${stream.name} exists with other settings than rmm's; it is left as it is`);
    }
  }
  return notes;
}

/**
 * Looked up before created: nats-server 2.9 quietly updates an existing consumer to the settings a
 * create names (where they can change), which would undo an operator's own.
 */
async function ensureConsumers(jsm: JetStreamManager, relay: string): Promise<string[]> {
  const notes: string[] = [];
  for (const { stream, config } of consumersOf(relay)) {
    const existing = await jsm.consumers.info(stream, config.durable_name).catch((error) => {
      if (notFound(error)) return undefined;
      throw error;
    });
    if (!existing) {
      await jsm.consumers.add(stream, config as unknown as Partial<ConsumerConfig>);
      continue;
    }
    const actual = existing.config as unknown as Record<string, unknown>;
    if (Object.entries(config).some(([key, value]) => actual[key] !== value))
      notes.push(
        `the consumer ${config.durable_name} of ${stream} exists with other settings than rmm's; it is left as it is`,
      );
  }
  return notes;
}

/** 10014: consumer not found. */
function notFound(error: unknown): boolean {
  return (error as { code?: unknown }).code === 10014 || (error as Error).name === 'ConsumerNotFoundError';
}

/** JetStream's answers to "create" for a name that exists with another configuration. */
function differentSettings(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  // 10058: stream name in use with a different configuration.
  if (code === 10058) return true;
  return /already in use/i.test((error as Error).message ?? '');
}
