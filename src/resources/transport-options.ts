import type { ValidateFunction } from 'ajv';
import type { PathSegment } from '../diagnostics/diagnostic.js';
import { pluginSchemaAjv } from './ajv.js';
import { type DocumentProblem, problemsFromAjv } from './ajv-messages.js';
import type { Resource } from './kinds.js';

/**
 * A transport block's options (everything but `type` and `credentialRef`) checked against the
 * options schema of the plugin its `type` names, with the same positioned messages as the kind
 * schemas. The schemas come from the installed plugins (src/transports/registry.ts); the commands
 * install them here, once per process and in each worker thread.
 *
 * A block without `type` takes it from its site's defaults: known only across documents, so it is
 * checked when the action runs. A type no installed plugin provides is one warning for the whole
 * input (validate.ts), not an error: the YAML may be validated where that plugin is not installed.
 * Per document it would cost a precise re-parse for its position, and keep the file out of the cache.
 */
export type TransportSchemas = Record<string, object>;

let validators = new Map<string, ValidateFunction>();
let installed: string[] = [];
let enabled = false;

export function setTransportSchemas(schemas: TransportSchemas | undefined): void {
  enabled = schemas !== undefined;
  const ajv = pluginSchemaAjv();
  validators = new Map(Object.entries(schemas ?? {}).map(([name, schema]) => [name, ajv.compile(schema)]));
  installed = [...validators.keys()].sort();
}

/** The installed transport types, or undefined when no schemas were given (nothing is checked). */
export function installedTransports(): readonly string[] | undefined {
  return enabled ? installed : undefined;
}

export function transportProblems(resource: Resource): DocumentProblem[] {
  if (!enabled) return [];
  if (resource.kind === 'Device') return check(resource.spec.transport as Block, ['spec', 'transport']);
  if (resource.kind === 'Site')
    return check(resource.spec.defaults?.transport as Block, ['spec', 'defaults', 'transport']);
  return [];
}

type Block = Record<string, unknown> | undefined;

function check(block: Block, at: PathSegment[]): DocumentProblem[] {
  if (!block || typeof block.type !== 'string') return [];
  const validate = validators.get(block.type);
  // A type no plugin provides is reported once for the whole input (see unknownTransportWarnings).
  if (!validate) return [];
  const { type: _type, credentialRef: _ref, ...options } = block;
  if (validate(options)) return [];
  return problemsFromAjv(validate.errors ?? []).map((p) => ({ ...p, path: [...at, ...p.path] }));
}
