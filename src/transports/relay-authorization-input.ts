import { RmmError } from '../errors.js';
import type { NatsAuthorizationInput } from './nats-authorization.js';
import type { QueueRouteConfig } from './queue-routes.js';

const DEFAULT_CONSOLE_USER = 'rmm-console';

/**
 * Who `rmm relay config` grants what, from the declared relay routes: each relay's agent is the NATS
 * user of its name, and the console is the one user the Relays' spec.nats.user names (or the flag).
 */
export function authorizationInput(
  routes: ReadonlyMap<string, QueueRouteConfig>,
  consoleUserFlag: string | undefined,
): NatsAuthorizationInput {
  const relays = [...routes.values()].filter((r) => r.transport === 'relay').map((r) => r.name);
  if (relays.length === 0)
    throw new RmmError(
      'not-found',
      'no Relay is declared in this database: declare one (kind Relay) and rmm apply it, then run this again',
    );
  const declared = [
    ...new Set(
      [...routes.values()].map((r) =>
        typeof r.options.user === 'string' ? r.options.user : DEFAULT_CONSOLE_USER,
      ),
    ),
  ].sort();
  let consoleUser = consoleUserFlag;
  if (consoleUser === undefined) {
    if (declared.length > 1)
      throw new RmmError(
        'invalid-input',
        `the Relays name different console users (${declared.join(', ')}); the console has one NATS user: declare the same spec.nats.user in every Relay, or pick one with --console-user`,
      );
    consoleUser = declared[0] ?? DEFAULT_CONSOLE_USER;
  }
  if (relays.includes(consoleUser))
    throw new RmmError(
      'invalid-input',
      `the console's NATS user "${consoleUser}" is also a relay's name (a relay's NATS user is its name): rename one`,
    );
  return { consoleUser, relays };
}
