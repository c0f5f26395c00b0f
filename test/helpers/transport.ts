import { inspect } from 'node:util';
import { secretText } from '../../src/actions/secret.js';
import {
  type ConnectOptions,
  type DeviceTarget,
  type Secret,
  type Transport,
  TransportError,
} from '../../src/plugin/api.js';

/** A Secret as rmm hands it to a transport: the value behind reveal(), the reference everywhere else. */
export function testSecret(ref: string, value: string | Buffer): Secret {
  return {
    ref,
    reveal: () => Buffer.from(value),
    revealText: () => secretText(Buffer.from(value)),
    toString: () => ref,
    toJSON: () => ref,
  } as Secret;
}

/** The TransportError a connect must fail with; a session that opened anyway is closed, and the test fails. */
export async function connectError(
  transport: Transport,
  device: DeviceTarget,
  options: ConnectOptions,
): Promise<TransportError> {
  const session = await transport.connect(device, options).catch((error: unknown) => error);
  if (!(session instanceof TransportError)) {
    if (session && typeof session === 'object' && 'close' in session)
      await (session as { close(): Promise<void> }).close();
    throw new Error(`expected a TransportError, got ${inspect(session)}`);
  }
  return session;
}
