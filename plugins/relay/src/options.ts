/** A route's options (a Relay's `spec.nats` without credentialRef), after validation. */
export interface RelayOptions {
  servers: string[];
  user?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

export const DEFAULT_CONSOLE_USER = 'rmm-console';

export const optionsSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['servers'],
  properties: {
    servers: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      uniqueItems: true,
      items: { type: 'string', pattern: '^(nats|tls)://[^\\s/@]+(:[0-9]{1,5})?$' },
      description:
        "The NATS servers the console reaches this relay's queue through, as `tls://host:4222` (or `nats://` on loopback, for labs); more than one for a cluster.",
    },
    user: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
      default: DEFAULT_CONSOLE_USER,
      description:
        "The console's NATS user (the password is the Relay's credentialRef); `rmm relay config` grants it.",
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        caFile: {
          type: 'string',
          minLength: 1,
          description: "PEM file of the CA that signed the NATS servers' certificates.",
        },
        certFile: {
          type: 'string',
          minLength: 1,
          description: 'Client certificate (PEM), for servers that verify clients.',
        },
        keyFile: { type: 'string', minLength: 1, description: "The client certificate's private key (PEM)." },
      },
      dependentRequired: { certFile: ['keyFile'], keyFile: ['certFile'] },
    },
  },
} as const;
