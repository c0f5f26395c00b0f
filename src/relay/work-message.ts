import type { ErrorObject } from 'ajv';
import { RUNNABLE_TYPES } from '../actions/store.js';
import { type CredentialPolicy, credentialRefusal } from '../credentials/policy.js';
import type { QueuedAction } from '../plugin/api.js';
import { createAjv } from '../resources/ajv.js';

/**
 * A work message read as untrusted input (docs/relay.md#the-wire-protocol): whoever can publish on
 * the relay's subject decides what it runs, so every field is checked before anything is stored or
 * run, and a problem is described without quoting a value (a misplaced secret must not reach a log).
 * The device's transport block travels as declared; its options are the local plugin's to check
 * (the runner does), but a credential must be a reference this relay's allow-list accepts, and a
 * key that names a secret is refused outright: the secret belongs at the relay, never on the wire.
 */
export const MAX_WORK_MESSAGE_BYTES = 262_144;

export type ReadWork =
  | { ok: true; action: QueuedAction }
  /** `actionId` when the message names a well-formed one: the console is told it was refused. */
  | { ok: false; problem: string; actionId?: string };

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const DAY_MS = 86_400_000;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'actionId', 'type', 'device', 'command', 'timeoutMs', 'connectTimeoutMs', 'expiresAt'],
  properties: {
    v: { const: 1 },
    actionId: { type: 'string', pattern: UUID },
    type: { enum: [...RUNNABLE_TYPES] },
    device: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'host', 'transport'],
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 253 },
        host: { type: 'string', minLength: 1, maxLength: 253 },
        os: { enum: ['linux', 'windows', 'macos', null] },
        transport: {
          type: 'object',
          required: ['type'],
          maxProperties: 64,
          properties: {
            type: { type: 'string', pattern: '^[a-z0-9-]{1,64}$' },
            credentialRef: { type: 'string', maxLength: 4096 },
          },
        },
      },
    },
    command: { type: 'string', minLength: 1, maxLength: 200_000 },
    powershell: { type: 'boolean' },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 7 * DAY_MS },
    connectTimeoutMs: { type: 'integer', minimum: 1, maximum: DAY_MS },
    expiresAt: { type: 'string', maxLength: 40 },
  },
} as const;

const validate = createAjv().compile(schema);

/** Keys of a transport block that could only hold a secret itself. */
const SECRET_KEY = /^(password|passwd|passphrase|secret|token|private[-_]?key|api[-_]?key)$/i;

export function readWorkMessage(
  bytes: Uint8Array,
  policy: CredentialPolicy,
  msgId: string | undefined,
): ReadWork {
  if (bytes.length > MAX_WORK_MESSAGE_BYTES)
    return { ok: false, problem: `${bytes.length} bytes, over the limit of ${MAX_WORK_MESSAGE_BYTES}` };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  const actionId = idOf(value);
  const refuse = (problem: string): ReadWork => ({ ok: false, problem, ...(actionId ? { actionId } : {}) });
  if (!validate(value)) return refuse(describe(validate.errors ?? []));
  const action = value as unknown as QueuedAction & { v: 1 };
  if (msgId !== undefined && msgId !== action.actionId) return refuse('its Nats-Msg-Id is not its actionId');
  const expires = Date.parse(action.expiresAt);
  if (!/^\d{4}-\d\d-\d\dT/.test(action.expiresAt) || Number.isNaN(expires))
    return refuse('expiresAt is not an ISO 8601 time');
  const transport = action.device.transport;
  const secretKey = Object.keys(transport).find((key) => SECRET_KEY.test(key));
  if (secretKey)
    return refuse(
      `device.transport.${secretKey} would carry a secret in the message; the relay resolves credentials itself from credentialRef (env: or file:)`,
    );
  const ref = transport.credentialRef;
  if (typeof ref === 'string') {
    if (!ref.startsWith('env:') && !ref.startsWith('file:'))
      return refuse(
        'device.transport.credentialRef is neither env:NAME nor file:PATH (not shown: it may be the secret itself)',
      );
    const refused = credentialRefusal(ref, policy);
    if (refused) return refuse(`device.transport.credentialRef: ${refused.replaceAll('console', 'relay')}`);
  }
  const { v: _v, ...rest } = action;
  return { ok: true, action: { ...rest, device: { ...rest.device, os: rest.device.os ?? null } } };
}

function idOf(value: unknown): string | undefined {
  const id = (value as { actionId?: unknown } | null)?.actionId;
  return typeof id === 'string' && new RegExp(UUID).test(id) ? id : undefined;
}

/** AJV's findings by path, never with the values themselves. */
function describe(errors: readonly ErrorObject[]): string {
  return errors
    .slice(0, 5)
    .map((e) => {
      const at = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : 'the message';
      const extra =
        e.keyword === 'additionalProperties'
          ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty).slice(0, 64)})`
          : '';
      return `${at} ${e.message ?? 'is not valid'}${extra}`;
    })
    .join('; ');
}
