/** A device's spec.transport for `type: smb`, after validation against optionsSchema. */
export interface SmbOptions {
  /** Where the share is; without it, the device's address (QueueRoute.device.host). */
  host?: string;
  port?: number;
  share?: string;
  user?: string;
  domain?: string;
  protection?: 'encrypt' | 'sign';
}

export const optionsSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    host: {
      type: 'string',
      pattern: '^[A-Za-z0-9.:-]{1,253}$',
      description: "Where the share is (default: the device's address).",
    },
    port: { type: 'integer', minimum: 1, maximum: 65535, default: 445 },
    share: {
      type: 'string',
      pattern: '^[A-Za-z0-9._-]{1,79}\\$?$',
      default: 'rmm$',
      description: 'The share holding the queue (`rmm$`: hidden from browsing).',
    },
    user: { type: 'string', pattern: '^[^\\s:;"\\\\/]{1,104}$' },
    domain: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,255}$' },
    protection: {
      enum: ['encrypt', 'sign'],
      default: 'encrypt',
      description:
        'encrypt: SMB 3 with encryption (the default); sign: signed but readable on the wire (warned).',
    },
  },
} as const;
