/**
 * The nats-server authorization for the console and its relays (`rmm relay config`,
 * docs/relay-nats.md): each relay may read only its own work and write only its own reports, so a
 * relay's stolen credentials reach one site's queue and nothing else. The subjects follow the wire
 * protocol of the relay transport (plugins/relay/src/wire.ts) and the calls the relay agent makes;
 * test/transports/nats-authorization.test.ts holds both against a real nats-server. Passwords are
 * nats-server environment variables, never values, so the generated text holds no secret.
 */
export interface NatsAuthorizationInput {
  /** The console's NATS user (the Relays' spec.nats.user, default rmm-console). */
  consoleUser: string;
  /** The declared relays' names: each is that relay agent's NATS user. */
  relays: readonly string[];
}

export interface NatsUserGrant {
  user: string;
  /** The nats-server environment variable holding its password. */
  passwordVariable: string;
  publish: string[];
  subscribe: string[];
}

export const CONSOLE_PASSWORD_VARIABLE = 'RMM_NATS_CONSOLE_PASSWORD';

/** `relay-alpha` -> `RMM_NATS_RELAY_ALPHA_PASSWORD`. */
export function relayPasswordVariable(relay: string): string {
  return `RMM_NATS_${relay.toUpperCase().replace(/-/g, '_')}_PASSWORD`;
}

/** The console: create the streams and consumers, publish work, withdraw it, pull and ack reports. */
export function consoleGrant(user: string): NatsUserGrant {
  const streams = ['RMM_WORK', 'RMM_RESULTS'];
  return {
    user,
    passwordVariable: CONSOLE_PASSWORD_VARIABLE,
    publish: [
      'rmm.work.*',
      '$JS.API.INFO',
      ...streams.flatMap((s) => [
        `$JS.API.STREAM.CREATE.${s}`,
        `$JS.API.STREAM.INFO.${s}`,
        // The client names a filtered durable in the subject (2.9+), or uses the older form.
        `$JS.API.CONSUMER.CREATE.${s}.>`,
        `$JS.API.CONSUMER.DURABLE.CREATE.${s}.*`,
        `$JS.API.CONSUMER.INFO.${s}.*`,
      ]),
      // cancel: look at a queued work message, then withdraw it.
      '$JS.API.STREAM.MSG.GET.RMM_WORK',
      '$JS.API.STREAM.MSG.DELETE.RMM_WORK',
      '$JS.API.CONSUMER.MSG.NEXT.RMM_RESULTS.*',
      '$JS.ACK.RMM_RESULTS.>',
    ],
    subscribe: ['_INBOX.>'],
  };
}

/** A relay: exactly the agent's calls, on its own subjects (design: docs/relay-nats.md). */
export function relayGrant(relay: string): NatsUserGrant {
  return {
    user: relay,
    passwordVariable: relayPasswordVariable(relay),
    publish: [
      `rmm.results.${relay}`,
      `$JS.API.CONSUMER.INFO.RMM_WORK.${relay}`,
      `$JS.API.CONSUMER.MSG.NEXT.RMM_WORK.${relay}`,
      `$JS.ACK.RMM_WORK.${relay}.>`,
    ],
    // Its own inbox prefix (the agent connects with inboxPrefix _INBOX_<relay>), so it cannot
    // listen to the answers meant for the console or another relay.
    subscribe: [`_INBOX_${relay}.>`],
  };
}

export function natsGrants(input: NatsAuthorizationInput): NatsUserGrant[] {
  return [consoleGrant(input.consoleUser), ...[...input.relays].sort().map(relayGrant)];
}

/** The `authorization { users = [...] }` block of nats-server.conf. */
export function renderNatsAuthorization(grants: readonly NatsUserGrant[]): string {
  const list = (items: readonly string[]) => `[${items.map((s) => JSON.stringify(s)).join(', ')}]`;
  const users = grants.map((g) =>
    [
      '    {',
      `      user: ${JSON.stringify(g.user)}`,
      `      password: $${g.passwordVariable}`,
      '      permissions: {',
      `        publish: { allow: ${list(g.publish)} }`,
      `        subscribe: { allow: ${list(g.subscribe)} }`,
      '      }',
      '    }',
    ].join('\n'),
  );
  return ['authorization {', '  users = [', ...users, '  ]', '}', ''].join('\n');
}
