import type { ValidateFunction } from 'ajv';
import type { Transport } from '../plugin/api.js';
import { pluginSchemaAjv } from '../resources/ajv.js';

/**
 * A transport's optionsSchema, compiled once per process: the runner, monitoring, `rmm hostkeys
 * scan` and the queue opener all check blocks against it, and compiling it per device or per route
 * cost a collect over 500 SMB devices 500 compilations. Keyed by the transport object, so a registry
 * loaded again (tests) compiles its own. A schema that does not compile is a problem of every block
 * of that transport; the text says so.
 */
const compiled = new WeakMap<Transport, ValidateFunction | string>();

export function optionsValidator(transport: Transport): ValidateFunction | string {
  let validate = compiled.get(transport);
  if (validate === undefined) {
    try {
      validate = pluginSchemaAjv().compile(transport.optionsSchema);
    } catch (error) {
      validate = `transport "${transport.name}": optionsSchema does not compile: ${(error as Error).message}`;
    }
    compiled.set(transport, validate);
  }
  return validate;
}

/**
 * Checks `options` (which it may change: defaults are filled in) and says why it does not fit, each
 * error named by its path under `root`; undefined when it fits.
 */
export function optionsMismatch(
  validate: ValidateFunction,
  options: unknown,
  root: string,
): string | undefined {
  if (validate(options)) return undefined;
  return (validate.errors ?? []).map((e) => `${e.instancePath || root} ${e.message}`).join('; ');
}
