import type { QueuedAction } from 'rmm/plugin';
import { SIGNING_ALGORITHM, type SigningKey } from './signing-key.js';

/** A job over this is refused by the consumers (and never written by the console). */
export const MAX_JOB_BYTES = 1024 * 1024;

/**
 * The signed payload: JSON with one key per line in this order, so the POSIX consumer reads it with
 * sed once the signature checks out, and PowerShell with ConvertFrom-Json. The command is base64
 * (UTF-8), so no value needs escaping; expiresEpoch saves sh from parsing ISO dates (GNU and BSD
 * date differ). The device name stops a job signed for one device from running on another.
 */
export function jobPayload(action: QueuedAction, issuedAt: Date): Buffer {
  const expires = Date.parse(action.expiresAt);
  const fields: [string, string | number | boolean][] = [
    ['v', 1],
    ['actionId', action.actionId],
    ['type', action.type],
    ['device', action.device.name],
    ['issuedAt', issuedAt.toISOString()],
    ['expiresAt', new Date(expires).toISOString()],
    ['expiresEpoch', Math.floor(expires / 1000)],
    ['timeoutSeconds', Math.max(1, Math.ceil(action.timeoutMs / 1000))],
    ['powershell', action.powershell === true],
    ['commandBase64', Buffer.from(action.command, 'utf8').toString('base64')],
  ];
  const lines = fields.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
  return Buffer.from(`{\n${lines.join(',\n')}\n}\n`, 'utf8');
}

/** The job file: one line, the payload and its detached signature, both base64. */
export function jobFile(action: QueuedAction, key: SigningKey, issuedAt: Date): Buffer {
  const payload = jobPayload(action, issuedAt);
  const envelope = `{"v":1,"alg":"${SIGNING_ALGORITHM}","payload":"${payload.toString('base64')}","signature":"${key.sign(payload).toString('base64')}"}\n`;
  return Buffer.from(envelope, 'utf8');
}
