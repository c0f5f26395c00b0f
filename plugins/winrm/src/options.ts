/** A device's spec.transport for `type: winrm`, after validation against optionsSchema. */
export interface WinrmOptions {
  port?: number;
  user?: string;
  scheme?: 'http' | 'https';
  auth?: 'ntlm' | 'basic';
  path?: string;
  tls?: { caFile?: string; fingerprint?: string; verify?: boolean };
  maxEnvelopeSize?: number;
  operationTimeoutSec?: number;
  codepage?: number;
}

/**
 * Why Basic over plain HTTP is refused: said by the options schema (so `rmm validate` refuses it at
 * the line of `auth`) and by the connection, for a block that reaches it unchecked.
 */
export const BASIC_OVER_HTTP =
  'Basic authentication over plain HTTP would send the password in clear; use scheme https, or auth ntlm (encrypted)';

export const optionsSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    port: {
      type: 'integer',
      minimum: 1,
      maximum: 65535,
      description: 'Default 5985 for http, 5986 for https.',
    },
    user: {
      type: 'string',
      minLength: 1,
      description:
        'The account: `user`, `DOMAIN\\user` or `user@domain`. The password comes from credentialRef.',
    },
    scheme: {
      enum: ['http', 'https'],
      default: 'http',
      description:
        'http: NTLM with WinRM message encryption (what a default listener accepts); https: TLS, with NTLM or Basic.',
    },
    auth: {
      enum: ['ntlm', 'basic'],
      default: 'ntlm',
      description:
        'basic is refused over http (the password would travel in clear) and works for local accounts only.',
    },
    path: { type: 'string', pattern: '^/', default: '/wsman' },
    tls: {
      type: 'object',
      additionalProperties: false,
      description:
        'HTTPS only. The certificate is verified against the system CAs unless caFile or fingerprint is set.',
      properties: {
        caFile: { type: 'string', minLength: 1, description: 'PEM file of the CAs to trust.' },
        fingerprint: {
          type: 'string',
          pattern: '^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$',
          description:
            "Pins the server certificate's SHA-256 fingerprint; replaces the chain and name checks.",
        },
        verify: {
          type: 'boolean',
          default: true,
          description: 'false accepts any certificate: for labs only.',
        },
      },
    },
    maxEnvelopeSize: {
      type: 'integer',
      minimum: 8192,
      maximum: 4194304,
      default: 153600,
      description:
        "Bytes; match the server's MaxEnvelopeSizekb (150 KB by default, 500 KB on recent Windows).",
    },
    operationTimeoutSec: {
      type: 'integer',
      minimum: 1,
      maximum: 3600,
      default: 20,
      description: 'How long the server may hold a Receive open waiting for output.',
    },
    codepage: {
      type: 'integer',
      minimum: 1,
      default: 65001,
      description: 'The shell code page: 65001 is UTF-8.',
    },
  },
  allOf: [
    {
      // scheme http, given or by default
      if: { type: 'object', properties: { scheme: { const: 'http' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, never awaited
      then: { properties: { auth: { not: { const: 'basic' }, 'x-message': BASIC_OVER_HTTP } } },
    },
  ],
} as const;
