import { RELAY_TRANSPORT } from '../transports/device-route.js';
import { KINDS, schemaFileOf } from './kinds.js';
import { readSchemaFile } from './schemas.js';

type Json = Record<string, unknown>;
const COMMON = 'common.schema.json#/$defs/';

/**
 * Self-contained copies of the kind schemas for editors: the shared definitions are copied into each
 * file, so a `# yaml-language-server: $schema=...` line needs nothing else. resource.schema.json, for
 * files that mix kinds, refers to its sibling files.
 *
 * Given the installed transports' option schemas (by type), each transport block also checks and
 * completes the options of the type it names (`$defs/transport-ssh`, chosen by if/then on `type`),
 * and each gets a file of its own, transport-<type>.schema.json. A block without `type` inherits it
 * from its site, so only `type`, `port`, `user` and `credentialRef` are checked there, as rmm
 * validate does.
 */
export function bundleKindSchemas(transports: Readonly<Record<string, object>> = {}): Map<string, Json> {
  const common = (readSchemaFile('common.schema.json').$defs ?? {}) as Json;
  const out = new Map<string, Json>();
  for (const kind of KINDS) {
    const file = schemaFileOf[kind];
    const schema = readSchemaFile(file);
    const used = new Set<string>();
    const rewritten = rewriteRefs(schema, used) as Json;
    const defs = { ...((rewritten.$defs as Json | undefined) ?? {}) };
    // Pull in shared definitions and the ones they use in turn.
    const pending = [...used];
    while (pending.length > 0) {
      const name = pending.pop() as string;
      if (name in defs) continue;
      const nested = new Set<string>();
      defs[name] = rewriteRefs(common[name], nested);
      pending.push(...nested);
    }
    if (defs.transport) withTransportOptions(defs, transports);
    if (kind === 'Relay' && transports[RELAY_TRANSPORT])
      withRelayOptions(rewritten, transports[RELAY_TRANSPORT] as Json);
    out.set(file, { ...rewritten, $defs: defs });
  }
  out.set('resource.schema.json', readSchemaFile('resource.schema.json'));
  const credentialRef = common.credentialRef as Json;
  for (const [type, options] of Object.entries(transports).sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.set(`transport-${type}.schema.json`, {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: `transport-${type}.schema.json`,
      title: `rmm transport block for type: ${type}`,
      ...blockSchema(type, options as Json, common.transport as Json),
      $defs: { credentialRef },
    });
  }
  return out;
}

/** The transport block's definition, extended with one branch per installed transport type. */
function withTransportOptions(defs: Json, transports: Readonly<Record<string, object>>): void {
  const types = Object.keys(transports).sort();
  if (types.length === 0) return;
  const block = defs.transport as Json;
  for (const type of types) defs[`transport-${type}`] = blockSchema(type, transports[type] as Json, block);
  defs.transport = {
    ...block,
    allOf: types.map((type) => ({
      if: { properties: { type: { const: type } }, required: ['type'] },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, never awaited
      then: { $ref: `#/$defs/transport-${type}` },
    })),
  };
}

/**
 * A Relay's `spec.nats` is a route of the relay transport: with that plugin installed, editors check
 * and complete its options there too (credentialRef kept beside them, as in a transport block).
 */
function withRelayOptions(relay: Json, options: Json): void {
  const spec = (relay.properties as Json).spec as Json;
  const nats = (spec.properties as Json).nats as Json;
  const block = blockSchema(RELAY_TRANSPORT, options, {
    properties: { type: {} },
    description: nats.description,
  });
  const { type: _type, ...properties } = block.properties as Json;
  (spec.properties as Json).nats = {
    ...block,
    properties: { ...properties, credentialRef: (nats.properties as Json).credentialRef },
  };
}

/**
 * A whole transport block of one type: the plugin's options with `type`, `credentialRef` and `via`
 * beside them. A plugin schema that is not a plain object schema (refs of its own, combinators that could
 * close the block to those two fields) cannot be merged safely: then only they are described, and
 * the block stays open. Rules between options as `allOf` of if/then (WinRM: no Basic over http) are
 * kept, as long as they close nothing (no additionalProperties or unevaluatedProperties in them).
 */
function blockSchema(type: string, options: Json, common: Json): Json {
  const commonProperties = common.properties as Json;
  const fixed = {
    type: { description: (commonProperties.type as Json).description, const: type },
    credentialRef: { $ref: '#/$defs/credentialRef' },
    ...(commonProperties.via ? { via: commonProperties.via } : {}),
  };
  const rules = JSON.stringify(options.allOf ?? []);
  const plain =
    options.properties !== undefined &&
    !JSON.stringify(options).includes('"$ref"') &&
    !['$defs', 'anyOf', 'oneOf', 'if', 'not'].some((k) => k in options) &&
    !rules.includes('"additionalProperties"') &&
    !rules.includes('"unevaluatedProperties"');
  if (!plain) return { description: common.description, type: 'object', properties: fixed };
  const { $schema: _schema, $id: _id, properties, ...rest } = options;
  return {
    description: common.description,
    ...rest,
    type: 'object',
    properties: { ...fixed, ...(properties as Json) },
  };
}

function rewriteRefs(node: unknown, used: Set<string>): unknown {
  if (Array.isArray(node)) return node.map((n) => rewriteRefs(n, used));
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith(COMMON)) {
      used.add(value.slice(COMMON.length));
      out[key] = `#/$defs/${value.slice(COMMON.length)}`;
    } else if (key === '$ref' && typeof value === 'string' && value.startsWith('#/$defs/')) {
      // Inside a shared definition, a local ref names another shared definition.
      used.add(value.slice('#/$defs/'.length));
      out[key] = value;
    } else if (key === '$defs' && value && typeof value === 'object') {
      // Local definitions keep their own names; only their refs change.
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteRefs(v, used)]));
    } else {
      out[key] = rewriteRefs(value, used);
    }
  }
  return out;
}
