import type { Fail, PluginRuntime, Transport } from 'rmm/plugin';
import { natsFailure } from './nats-errors.js';
import { borrowNats } from './nats-pool.js';
import { checkRelayOptions } from './option-checks.js';
import { optionsSchema, type RelayOptions } from './options.js';
import { relayQueueConnection } from './queue-connection.js';
import { ensureRoute } from './streams.js';

export interface RelayTransportOptions {
  /** The clock stamped on reports that could not be read (tests pass their own). */
  now?: () => Date;
}

/**
 * The relay transport: actions for a remote site's devices go to its relay agent (`rmm relay`)
 * through NATS JetStream, and its reports come back the same way, possibly hours later. There is
 * no live session: `connect` refuses, and the core uses `queue` instead.
 */
export function createRelayTransport(runtime: PluginRuntime, options: RelayTransportOptions = {}): Transport {
  const fail: Fail = (code, message, opts) => new runtime.TransportError(code, message, opts);
  const now = options.now ?? (() => new Date());
  return {
    apiVersion: 1,
    name: 'relay',
    description:
      "A site's relay agent, through NATS JetStream: actions are queued and run at the site, results come back later.",
    optionsSchema,
    defaultPort: 4222,
    // One NATS connection carries every route; the relay windows its own SSH and WinRM sessions.
    batchSize: 1000,
    capabilities: { powershell: true, fileTransfer: false, queued: true },
    connect: async (target) => {
      throw fail(
        'protocol',
        `the relay is a queued transport: actions for ${target.name} are submitted to its relay's queue, not run over a session`,
      );
    },
    queue: {
      routes: 'declared',
      async open(route, open) {
        const borrowed = await borrowNats(route.options as unknown as RelayOptions, open, fail);
        try {
          const notes = await ensureRoute(borrowed.shared, route.name);
          return relayQueueConnection(route.name, borrowed, notes, fail, now);
        } catch (error) {
          await borrowed.release();
          throw natsFailure(error, `cannot set up the JetStream streams of relay ${route.name}`, fail);
        }
      },
    },
    checkOptions: checkRelayOptions,
  };
}
