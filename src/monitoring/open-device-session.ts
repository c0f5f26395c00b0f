import { resolveSecret } from '../actions/secret.js';
import type { DeviceRecord } from '../actions/targets.js';
import type { CredentialPolicy } from '../credentials/policy.js';
import type { DeviceTarget, Session, Transport } from '../plugin/api.js';
import { prepareTarget } from '../transports/device-target.js';
import { optionsValidator } from '../transports/options-validator.js';

/**
 * From a device record to what connecting to it takes, as the action runner does it: the device's
 * transport block checked against the plugin's options schema (defaults filled in), the credential
 * reference resolved only at the moment of connecting, through the console's allow-list.
 */
export interface DeviceConnection {
  transport: Transport;
  target: DeviceTarget;
  user: string | undefined;
  credentialRef: string | undefined;
  /**
   * Everything connecting depends on: a session kept open under another signature (the device's
   * address or transport block changed with an `rmm apply`) is not reused.
   */
  signature: string;
}

export class DeviceConnections {
  readonly #transports: ReadonlyMap<string, Transport>;

  constructor(transports: ReadonlyMap<string, Transport>) {
    this.#transports = transports;
  }

  /** How to reach the device, or why it cannot be (no such transport, options that do not fit). */
  prepare(device: DeviceRecord): DeviceConnection | { problem: string } {
    const type = String(device.transport.type ?? '');
    const transport = this.#transports.get(type);
    if (!transport) return { problem: `no transport "${type}" is installed (see rmm transports)` };
    const validate = optionsValidator(transport);
    if (typeof validate === 'string') return { problem: validate };
    const prepared = prepareTarget(device, transport.name, validate);
    if ('problem' in prepared) return prepared;
    const { target, user, credentialRef } = prepared;
    const signature = JSON.stringify([type, target.host, target.os, target.options, user, credentialRef]);
    return { transport, target, user, credentialRef, signature };
  }

  connect(
    connection: DeviceConnection,
    credentials: CredentialPolicy,
    connectTimeoutMs: number,
    signal: AbortSignal,
  ): Promise<Session> {
    const { transport, target, user, credentialRef } = connection;
    const secret = credentialRef === undefined ? undefined : resolveSecret(credentialRef, credentials);
    return transport.connect(target, {
      ...(user === undefined ? {} : { user }),
      ...(secret ? { secret } : {}),
      connectTimeoutMs,
      signal,
    });
  }
}
