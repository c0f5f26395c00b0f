import type { ValidateFunction } from 'ajv';
import { type CredentialPolicy, credentialRefusal } from '../credentials/policy.js';
import type { PathSegment } from '../diagnostics/diagnostic.js';
import type { OptionsFinding } from '../plugin/api.js';
import { quote } from '../quote.js';
import { suggest } from '../suggest.js';
import { RELAY_TRANSPORT } from '../transports/device-route.js';
import { DEFAULT_TRANSPORT, effectiveTransport } from '../transports/effective-transport.js';
import { pluginSchemaAjv } from './ajv.js';
import { type DocumentProblem, problemsFromAjv } from './ajv-messages.js';
import type { Resource } from './kinds.js';

/**
 * A transport block's options (everything but `type` and `credentialRef`) checked against the
 * options schema of the plugin its type names, with the same positioned messages as the kind
 * schemas. The schemas come from the installed plugins (src/transports/registry.ts); the commands
 * install them here, once per process and in each worker thread.
 *
 * Per document: a block that names its type, and a site's default (without `type`, an ssh default).
 * A type no installed plugin provides is an error at its `type`, with a did-you-mean, unless
 * `allowUnknown` (--allow-unknown-transports: a repository may declare devices for a plugin
 * installed only where rmm applies it); then it is one warning for the whole input (validate.ts).
 *
 * Across documents (effectiveTransportProblems): a device block without `type`, or one its site's
 * default of the same type fills in, is checked as merged (transports/effective-transport.ts), the
 * block rmm will connect with, at the device.
 */
export interface TransportSchemas {
  /** The installed device transports' option schemas, by type. */
  schemas: Record<string, object>;
  /**
   * The option schemas of the installed queued transports whose routes are declared resources (the
   * relay: a Relay's `spec.nats`), by transport name. Never a device's type.
   */
  routeSchemas?: Record<string, object>;
  /** Accept a type no installed plugin provides (its options are not checked). */
  allowUnknown?: boolean;
  /** The credential references the console resolves: others are errors at their credentialRef. */
  credentials?: CredentialPolicy;
  /**
   * The plugins' own checks (Transport.checkOptions), by type. Functions, so they stay on the main
   * thread (check/pool.ts sends workers the rest): they run after the documents are checked, on
   * every run, cached or not (pluginOptionProblems).
   */
  optionChecks?: Record<string, OptionsCheck>;
}

export type OptionsCheck = (options: Record<string, unknown>) => OptionsFinding[];

let validators = new Map<string, ValidateFunction>();
let routeValidators = new Map<string, ValidateFunction>();
let installed: string[] = [];
let enabled = false;
let allowUnknown = false;
let credentials: CredentialPolicy | undefined;
let optionChecks = new Map<string, OptionsCheck>();

export function setTransportSchemas(check: TransportSchemas | undefined): void {
  enabled = check !== undefined;
  allowUnknown = check?.allowUnknown ?? false;
  credentials = check?.credentials;
  optionChecks = new Map(Object.entries(check?.optionChecks ?? {}));
  const ajv = pluginSchemaAjv();
  validators = new Map(
    Object.entries(check?.schemas ?? {}).map(([name, schema]) => [name, ajv.compile(schema)]),
  );
  routeValidators = new Map(
    Object.entries(check?.routeSchemas ?? {}).map(([name, schema]) => [name, ajv.compile(schema)]),
  );
  installed = [...validators.keys()].sort();
}

/**
 * The installed transport types when unknown types are allowed (validate.ts warns about those once),
 * or undefined when they are errors or nothing is checked.
 */
export function unknownTransportsAllowed(): readonly string[] | undefined {
  return enabled && allowUnknown ? installed : undefined;
}

export function transportProblems(resource: Resource): DocumentProblem[] {
  if (!enabled) return [];
  if (resource.kind === 'Device') {
    const block = resource.spec.transport as Block;
    return [...refusedCredential(block, ['spec', 'transport']), ...check(block, ['spec', 'transport'])];
  }
  if (resource.kind === 'Relay') return relayOptionProblems(resource.spec.nats);
  if (resource.kind === 'Site') {
    const block = resource.spec.defaults?.transport as Block;
    const at = ['spec', 'defaults', 'transport'];
    const refused = refusedCredential(block, at);
    // A site's default without type is an ssh default; checked as one when ssh is installed.
    if (block && block.type === undefined && !validators.has(DEFAULT_TRANSPORT)) return refused;
    return [...refused, ...check(block, at, DEFAULT_TRANSPORT)];
  }
  return [];
}

type Block = Record<string, unknown> | undefined;

/**
 * A Relay's `spec.nats` as a route of the relay transport: its credentialRef through the console's
 * allow-list, the rest against the plugin's options schema, as a device's transport block is. With
 * no relay plugin installed, the same error (or, allowed, nothing) as a block of an unknown type.
 */
function relayOptionProblems(nats: Record<string, unknown>): DocumentProblem[] {
  const at = ['spec', 'nats'];
  const refused = refusedCredential(nats, at);
  const validate = routeValidators.get(RELAY_TRANSPORT);
  if (!validate)
    return allowUnknown ? refused : [...refused, { ...unknownType(RELAY_TRANSPORT, at), at: 'key' }];
  const problems = optionProblems(validate, nats).map((p) => ({ ...p, path: [...at, ...p.path] }));
  return [...refused, ...problems];
}

/**
 * Why the console would refuse to resolve a reference (credentials/policy.ts), when validation knows
 * the console's policy: the commands that check input install it with the transport schemas.
 */
export function referenceRefusal(ref: string): string | undefined {
  return credentials ? credentialRefusal(ref, credentials) : undefined;
}

/**
 * A credentialRef the console would refuse to resolve, at its value. The message says which forms
 * are allowed and how to widen them; it never repeats the reference (a diagnostic points at it).
 */
function refusedCredential(block: Block, at: PathSegment[]): DocumentProblem[] {
  const ref = block?.credentialRef;
  if (!credentials || typeof ref !== 'string') return [];
  const refusal = credentialRefusal(ref, credentials);
  return refusal ? [{ code: 'secret', path: [...at, 'credentialRef'], at: 'value', message: refusal }] : [];
}

function check(block: Block, at: PathSegment[], implicitType?: string): DocumentProblem[] {
  const type = typeof block?.type === 'string' ? block.type : implicitType;
  if (!block || type === undefined) return [];
  const validate = validators.get(type);
  if (!validate) return allowUnknown ? [] : [unknownType(type, [...at, 'type'])];
  return optionProblems(validate, block).map((p) => ({ ...p, path: [...at, ...p.path] }));
}

function optionProblems(validate: ValidateFunction, block: Record<string, unknown>): DocumentProblem[] {
  const options = pluginOptionsOf(block);
  if (validate(options)) return [];
  return problemsFromAjv(validate.errors ?? []);
}

function unknownType(type: string, path: PathSegment[]): DocumentProblem {
  const hint = suggest(type, installed);
  return {
    code: 'schema',
    path,
    at: 'value',
    message: `no installed plugin provides the transport ${quote(type)}${hint ? `; did you mean ${quote(hint)}?` : ''} (installed: ${installed.join(', ') || 'none'}; --allow-unknown-transports accepts it for a plugin installed elsewhere)`,
  };
}

/**
 * Problems of the block a device is reached with, when that is more than its own block checked by
 * itself: its block has no type (the type comes from its site's default or is ssh), or its site's
 * default of the same type fills it in. Paths are in the device's document: a field the device
 * sets, else its `spec.transport`. Call it only when the device's and the site's documents are
 * valid by themselves (their own problems are reported there).
 */
export function effectiveTransportProblems(
  device: Record<string, unknown> | undefined,
  site: { name: string; block: Record<string, unknown> | undefined },
): DocumentProblem[] {
  if (!enabled || !device || Object.keys(device).length === 0) return [];
  const effective = effectiveTransport(device, site.block);
  const ownType = typeof device.type === 'string';
  if (ownType && !effective.siteApplies) return [];
  const validate = validators.get(effective.type);
  // An unknown type is reported (or allowed) where it is named.
  if (!validate) return [];
  const context = effective.siteApplies
    ? `with the ${effective.type} default of site ${quote(site.name)}`
    : `as ${effective.type} (a block without type is ${DEFAULT_TRANSPORT} unless its site's default names one)`;
  return optionProblems(validate, effective.block).map((p) => {
    const field = p.path[0];
    if (typeof field === 'string' && field in device)
      return { ...p, path: ['spec', 'transport', ...p.path], message: `${context}: ${p.message}` };
    const origin = typeof field === 'string' ? ` (${field} comes from that default)` : '';
    return { ...p, path: ['spec', 'transport'], at: 'key', message: `${context}: ${p.message}${origin}` };
  });
}

/** Where each kind holds a transport's options. */
export const BLOCK_AT = {
  Device: ['spec', 'transport'],
  Site: ['spec', 'defaults', 'transport'],
  Relay: ['spec', 'nats'],
} as const satisfies Record<string, PathSegment[]>;

/**
 * What the plugin's checkOptions finds in a block as written in one document: a Relay's `spec.nats`
 * (a route of the relay transport), a Site's `spec.defaults.transport`, or a Device's `spec.transport` merged with its site's default as the
 * runner merges it (so the type and the options are the ones rmm will connect with), keeping only
 * the findings about fields the device sets itself (the site's are reported at the site). Only a
 * block that passes the plugin's schema is handed to the plugin; the schema's own problems are
 * transportProblems'. Not cached: these checks depend on the console (its environment, its folders),
 * which no cache key captures.
 */
export function pluginOptionProblems(
  kind: 'Device' | 'Site' | 'Relay',
  block: Record<string, unknown> | undefined,
  siteBlock?: Record<string, unknown>,
): DocumentProblem[] {
  if (!enabled || !block || optionChecks.size === 0) return [];
  const at = BLOCK_AT[kind];
  const effective =
    kind === 'Device'
      ? effectiveTransport(block, siteBlock)
      : kind === 'Relay'
        ? { type: RELAY_TRANSPORT, block, from: undefined }
        : { type: typeof block.type === 'string' ? block.type : DEFAULT_TRANSPORT, block, from: undefined };
  const checkOptions = optionChecks.get(effective.type);
  const validate = (kind === 'Relay' ? routeValidators : validators).get(effective.type);
  if (!checkOptions || !validate) return [];
  const options = pluginOptionsOf(effective.block);
  // A copy: the schema fills in defaults, and the plugin is shown what was written.
  if (!validate(copyOf(options))) return [];
  let findings: OptionsFinding[];
  try {
    findings = checkOptions(options);
  } catch (error) {
    return [
      {
        code: 'transport',
        path: at,
        at: 'key',
        message: `the ${effective.type} plugin failed to check these options: ${(error as Error).message}`,
      },
    ];
  }
  return findings
    .filter((f) => {
      const field = f.path[0];
      return !effective.from || (typeof field === 'string' && effective.from[field] === 'device');
    })
    .map((f) => ({
      code: 'transport' as const,
      path: [...at, ...f.path],
      at: 'value' as const,
      message: f.message,
      ...(f.severity === 'warning' ? { severity: 'warning' as const } : {}),
    }));
}

/**
 * What a plugin's schema and checks see of a block: all but the core's keys, `type`,
 * `credentialRef` (resolved by the core) and `via` (the route, actions/targets.ts).
 */
export function pluginOptionsOf(block: Record<string, unknown>): Record<string, unknown> {
  const { type: _type, credentialRef: _ref, via: _via, ...options } = block;
  return options;
}

/** A copy of parsed YAML (plain objects, arrays, scalars): a tenth of structuredClone's time here. */
function copyOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyOf);
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = copyOf(item);
  return copy;
}
