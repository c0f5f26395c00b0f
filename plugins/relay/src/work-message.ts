import type { QueuedAction } from 'rmm/plugin';
import { WIRE_VERSION } from './wire.js';

/** The body of a work message: the action as the relay reads it, `powershell` only when true. */
export function workMessageBody(action: QueuedAction): string {
  const { powershell, ...rest } = action;
  return JSON.stringify({
    v: WIRE_VERSION,
    actionId: rest.actionId,
    type: rest.type,
    device: rest.device,
    command: rest.command,
    ...(powershell ? { powershell: true } : {}),
    timeoutMs: rest.timeoutMs,
    connectTimeoutMs: rest.connectTimeoutMs,
    expiresAt: rest.expiresAt,
  });
}
