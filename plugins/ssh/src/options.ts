/** A device's spec.transport for `type: ssh`, after validation against optionsSchema. */
export interface SshOptions {
  port?: number;
  user?: string;
  auth?: 'key' | 'password' | 'agent';
  knownHosts?: string;
  hostKeyFingerprint?: string;
  hostKeyPolicy?: 'strict' | 'accept-new';
  keepaliveIntervalMs?: number;
  readyTimeoutMs?: number;
}

export const optionsSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    user: { type: 'string', minLength: 1 },
    auth: {
      enum: ['key', 'password', 'agent'],
      default: 'key',
      description:
        'key: the credential is a private key; password: it is the password; agent: SSH_AUTH_SOCK.',
    },
    knownHosts: {
      type: 'string',
      minLength: 1,
      description: 'known_hosts file (default ~/.ssh/known_hosts).',
    },
    hostKeyFingerprint: {
      type: 'string',
      pattern: '^SHA256:[A-Za-z0-9+/]{43}=?$',
      description: 'Pins the host key (as `ssh-keygen -l` prints it); replaces the known_hosts check.',
    },
    hostKeyPolicy: {
      enum: ['strict', 'accept-new'],
      default: 'strict',
      description:
        'accept-new records the key of a host known_hosts does not list yet; a changed key is refused.',
    },
    keepaliveIntervalMs: {
      type: 'integer',
      minimum: 0,
      description: '0 disables keepalives (default 15000).',
    },
    readyTimeoutMs: {
      type: 'integer',
      minimum: 1,
      description: "Shortens the core's connect timeout for this device; it cannot lengthen it.",
    },
  },
} as const;
