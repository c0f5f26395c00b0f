import { bundleKindSchemas } from './bundle-schemas.js';
import { KINDS, type Kind, schemaFileOf } from './kinds.js';

/** A path of YAML field names into a resource's fields; '*' stands for any list index or map key. */
export type SensitivePath = readonly string[];

type Json = Record<string, unknown>;
const LOCAL = '#/$defs/';

let cached: Record<Kind, SensitivePath[]> | undefined;

/**
 * Per kind, the fields whose schema carries `x-sensitive: true` (credentialRef, wherever a transport
 * block is used). Read from the schemas, so marking a new field there is all it takes to redact it.
 */
export function sensitiveFieldPaths(): Record<Kind, SensitivePath[]> {
  if (!cached) {
    // The bundled copies are self-contained: every $ref is local, so resolving one is a lookup.
    const bundled = bundleKindSchemas();
    cached = Object.fromEntries(
      KINDS.map((kind) => [kind, sensitivePathsOf((bundled.get(schemaFileOf[kind]) ?? {}) as Json)]),
    ) as Record<Kind, SensitivePath[]>;
  }
  return cached;
}

/** A kind schema's sensitive paths, named as views name fields: spec's keys, and labels. */
export function sensitivePathsOf(schema: Json): SensitivePath[] {
  const defs = (schema.$defs ?? {}) as Json;
  const found = new Map<string, SensitivePath>();
  const walk = (node: unknown, path: string[], refs: ReadonlySet<string>): void => {
    if (!isObject(node)) return;
    if (node['x-sensitive'] === true) {
      found.set(JSON.stringify(path), path);
      return;
    }
    const ref = node.$ref;
    // A recursive definition is followed once per path, which is enough to find its markers.
    if (typeof ref === 'string' && ref.startsWith(LOCAL) && !refs.has(ref))
      walk(defs[ref.slice(LOCAL.length)], path, new Set([...refs, ref]));
    for (const [key, sub] of Object.entries(isObject(node.properties) ? node.properties : {}))
      walk(sub, [...path, key], refs);
    walk(node.items, [...path, '*'], refs);
    walk(node.additionalProperties, [...path, '*'], refs);
    for (const key of ['allOf', 'anyOf', 'oneOf'])
      for (const sub of Array.isArray(node[key]) ? (node[key] as unknown[]) : []) walk(sub, path, refs);
    walk(node.then, path, refs);
    walk(node.else, path, refs);
  };
  const properties = (isObject(schema.properties) ? schema.properties : {}) as Json;
  walk(properties.spec, [], new Set());
  // metadata.labels is the view's labels field; metadata.name is the key, never a field.
  const metadata = resolve(properties.metadata, defs);
  if (isObject(metadata?.properties)) walk(metadata.properties.labels, ['labels'], new Set());
  return [...found.values()];
}

function resolve(node: unknown, defs: Json, hops = 0): Json | undefined {
  if (!isObject(node) || hops > 16) return undefined;
  const ref = node.$ref;
  return typeof ref === 'string' && ref.startsWith(LOCAL)
    ? resolve(defs[ref.slice(LOCAL.length)], defs, hops + 1)
    : node;
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
