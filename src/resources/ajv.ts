import { isIP } from 'node:net';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * One AJV instance with rmm's formats and keywords. Validators are compiled once per process and
 * reused for every document.
 */
export function createAjv(options: { useDefaults?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({
    useDefaults: options.useDefaults ?? false,
    allErrors: true,
    verbose: true,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
  });
  addFormats.default(ajv, ['email', 'hostname', 'ipv4', 'ipv6']);
  ajv.addFormat('iana-timezone', { type: 'string', validate: isTimeZone });
  ajv.addFormat('host-address', { type: 'string', validate: isHostAddress });
  // Annotations read by our error messages (and by editors: yaml-language-server shows patternErrorMessage).
  ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' });
  // Marks a value that may hold a secret when wrong: messages never quote it.
  ajv.addKeyword({ keyword: 'x-sensitive', schemaType: 'boolean' });
  return ajv;
}

const timeZones = new Map<string, boolean>();
let forPlugins: Ajv2020 | undefined;

/**
 * The one AJV instance for transport plugins' option schemas, shared by the registry (does it
 * compile?), validation (positioned errors) and the runner (defaults filled in). A new instance
 * compiles the draft 2020-12 meta-schema first (about 20 ms); one instance also caches each schema.
 */
export function pluginSchemaAjv(): Ajv2020 {
  forPlugins ??= createAjv({ useDefaults: true });
  return forPlugins;
}

export function isTimeZone(name: string): boolean {
  let ok = timeZones.get(name);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: name });
      ok = name.length > 0;
    } catch {
      ok = false;
    }
    timeZones.set(name, ok);
  }
  return ok;
}

const DNS_NAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$/;
export function isHostAddress(value: string): boolean {
  return isIP(value) !== 0 || (DNS_NAME.test(value) && !/^[0-9.]+$/.test(value));
}

export type { ErrorObject, ValidateFunction };
