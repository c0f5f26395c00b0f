import type { Config } from '@oclif/core';
import { credentialPolicy } from '../credentials/policy.js';
import {
  type PluginRuntime,
  TRANSPORT_API_VERSION,
  TRANSPORTS_HOOK,
  type Transport,
  TransportError,
} from '../plugin/api.js';
import { pluginSchemaAjv } from '../resources/ajv.js';
import type { OptionsCheck, TransportSchemas } from '../resources/transport-options.js';

/**
 * The transports the installed plugins provide, found through oclif's own plugin machinery: every
 * plugin (the built-in ones in plugins/ included) answers the `rmm:transports` hook. A plugin that
 * fails, or returns something that is not a transport, is refused with a message naming it; it
 * never stops the CLI or hides the other plugins' transports.
 */
export interface RegisteredTransport {
  transport: Transport;
  /** The oclif plugin that registered it: `@rmm/transport-ssh`. */
  plugin: string;
}

export interface TransportRegistry {
  transports: Map<string, RegisteredTransport>;
  /** One line per refused plugin or transport: `plugin @acme/x: transport "y": connect is not a function`. */
  refused: string[];
}

export const RUNTIME: PluginRuntime = { apiVersion: TRANSPORT_API_VERSION, TransportError };

const NAME = /^[a-z][a-z0-9-]{0,30}$/;

/**
 * `compileSchemas: false` leaves compiling each options schema to whoever uses the transport (the
 * action runner does, for the transports its actions need): compiling every plugin's schema up
 * front cost about 50 ms of every rmm exec. `rmm transports` and validation compile them all.
 */
export async function loadTransports(
  config: Config,
  options: { compileSchemas?: boolean } = {},
): Promise<TransportRegistry> {
  const transports = new Map<string, RegisteredTransport>();
  const refused: string[] = [];
  const { successes, failures } = await config.runHook(
    TRANSPORTS_HOOK as never,
    { runtime: RUNTIME } as never,
    10_000,
    true,
  );
  for (const { error, plugin } of byPluginName(failures))
    refused.push(`plugin ${plugin.name}: its ${TRANSPORTS_HOOK} hook failed: ${(error as Error).message}`);
  for (const { result, plugin } of byPluginName(
    successes as Array<{ result: unknown; plugin: { name: string } }>,
  )) {
    if (!Array.isArray(result)) {
      refused.push(`plugin ${plugin.name}: its ${TRANSPORTS_HOOK} hook must return a list of transports`);
      continue;
    }
    for (const candidate of result) {
      const problem = shapeProblem(candidate, options.compileSchemas ?? true);
      const label = `plugin ${plugin.name}: transport ${JSON.stringify(nameOf(candidate))}`;
      if (problem) {
        refused.push(`${label}: ${problem}`);
        continue;
      }
      const transport = candidate as Transport;
      const taken = transports.get(transport.name);
      if (taken) {
        refused.push(`${label}: the name is already taken by plugin ${taken.plugin}`);
        continue;
      }
      transports.set(transport.name, { transport, plugin: plugin.name });
    }
  }
  return { transports, refused };
}

/**
 * oclif lists hook results in the order the plugins' hooks completed, which varies from run to run:
 * in plugin-name order, the transports' order and which plugin keeps a name two of them claim are
 * the same on every run.
 */
function byPluginName<T extends { plugin: { name: string } }>(results: readonly T[]): T[] {
  return [...results].sort((a, b) =>
    a.plugin.name < b.plugin.name ? -1 : a.plugin.name > b.plugin.name ? 1 : 0,
  );
}

function nameOf(candidate: unknown): unknown {
  return typeof candidate === 'object' && candidate !== null
    ? (candidate as { name?: unknown }).name
    : candidate;
}

/** What is wrong with a would-be transport, or undefined when it has the shape of API version 1. */
export function shapeProblem(candidate: unknown, compileSchema = true): string | undefined {
  if (typeof candidate !== 'object' || candidate === null) return 'is not an object';
  const t = candidate as Partial<Record<keyof Transport, unknown>>;
  if (t.apiVersion !== TRANSPORT_API_VERSION)
    return `is built for plugin API version ${String(t.apiVersion)}; this rmm speaks version ${TRANSPORT_API_VERSION}`;
  if (typeof t.name !== 'string' || !NAME.test(t.name))
    return 'name must be lowercase letters, digits and dashes, starting with a letter';
  if (typeof t.connect !== 'function') return 'connect is not a function';
  if (!Number.isInteger(t.defaultPort) || (t.defaultPort as number) < 0 || (t.defaultPort as number) > 65535)
    return 'defaultPort must be a port number';
  if (!Number.isInteger(t.batchSize) || (t.batchSize as number) < 1)
    return 'batchSize must be a positive integer';
  const caps = t.capabilities as Record<string, unknown> | undefined;
  if (!caps || ['powershell', 'fileTransfer', 'queued'].some((k) => typeof caps[k] !== 'boolean'))
    return 'capabilities must say powershell, fileTransfer and queued as booleans';
  if (typeof t.optionsSchema !== 'object' || t.optionsSchema === null)
    return 'optionsSchema must be a JSON Schema';
  if (caps.queued) {
    const queue = t.queue as Record<string, unknown> | undefined;
    if (typeof queue?.open !== 'function') return 'a queued transport must have queue.open';
    if (queue.routes !== 'device' && queue.routes !== 'declared')
      return "queue.routes must be 'device' or 'declared'";
  }
  if (t.hostKeys !== undefined) {
    const keys = t.hostKeys as Record<string, unknown> | null;
    if (typeof keys?.scan !== 'function' || typeof keys.record !== 'function')
      return 'hostKeys, when given, must have scan and record functions';
  }
  if (t.checkOptions !== undefined && typeof t.checkOptions !== 'function')
    return 'checkOptions, when given, must be a function';
  if (!compileSchema) return undefined;
  try {
    pluginSchemaAjv().compile(t.optionsSchema as object);
  } catch (error) {
    return `optionsSchema does not compile: ${(error as Error).message}`;
  }
  return undefined;
}

/**
 * What `rmm validate`, `plan` and `apply` check transport blocks against: the installed transports'
 * option schemas and their own checks (checkOptions), whether a type none of them provides is
 * allowed (--allow-unknown-transports), and the credential references the console with this data
 * directory resolves (credentials/policy.ts).
 */
export async function transportChecks(
  config: Config,
  allowUnknown: boolean,
  dataDir: string,
): Promise<TransportSchemas> {
  const credentials = credentialPolicy(dataDir);
  const schemas: Record<string, object> = {};
  const routeSchemas: Record<string, object> = {};
  const optionChecks: Record<string, OptionsCheck> = {};
  const { transports } = await loadTransports(config);
  for (const [name, { transport }] of transports) {
    if (isDeviceTransport(transport)) schemas[name] = transport.optionsSchema;
    else routeSchemas[name] = transport.optionsSchema;
    if (transport.checkOptions) optionChecks[name] = transport.checkOptions.bind(transport);
  }
  return { schemas, routeSchemas, allowUnknown, credentials, optionChecks };
}

/** The device transports' option schemas by name (also what `rmm schema export` builds in). */
export async function transportSchemas(config: Config): Promise<Record<string, object>> {
  return Object.fromEntries(
    [...(await deviceTransports(config))].map(([name, { transport }]) => [name, transport.optionsSchema]),
  );
}

/**
 * The transports a device's `spec.transport.type` may name: those with sessions, and queued ones
 * whose routes are devices (SMB). One with declared routes (the relay) is reached through a route (a
 * Relay's spec.nats) that a site names, never as a device's type, so its options are not a block's.
 */
async function deviceTransports(config: Config): Promise<Array<[string, RegisteredTransport]>> {
  const { transports } = await loadTransports(config);
  return [...transports].filter(([, { transport }]) => isDeviceTransport(transport));
}

function isDeviceTransport(transport: Transport): boolean {
  return !transport.capabilities.queued || transport.queue?.routes === 'device';
}
