import type { ValidateFunction } from 'ajv';
import type { DeviceRecord } from '../actions/targets.js';
import type { DeviceTarget } from '../plugin/api.js';
import { optionsMismatch } from './options-validator.js';

/**
 * What a transport is told about a device: its transport block without `type`, `credentialRef` and
 * `user` (those travel apart) and `via` (the route, which the core follows), checked against the transport's options schema with its defaults
 * filled in. The action runner and `rmm hostkeys scan` both build targets here.
 */
export type PreparedTarget =
  | { target: DeviceTarget; credentialRef: string | undefined; user: string | undefined }
  | { problem: string };

export function prepareTarget(
  device: DeviceRecord,
  transportName: string,
  validate: ValidateFunction,
): PreparedTarget {
  const { type: _type, credentialRef, user, via: _via, ...rest } = device.transport;
  const options = structuredClone(rest);
  const why = optionsMismatch(validate, options, 'transport');
  if (why !== undefined)
    return { problem: `spec.transport does not fit the ${transportName} transport: ${why}` };
  return {
    target: { name: device.name, host: device.host, os: device.os, options },
    credentialRef: typeof credentialRef === 'string' ? credentialRef : undefined,
    user: typeof user === 'string' ? user : undefined,
  };
}
