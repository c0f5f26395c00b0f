import { KINDS, schemaFileOf } from './kinds.js';
import { readSchemaFile } from './schemas.js';

type Json = Record<string, unknown>;
const COMMON = 'common.schema.json#/$defs/';

/**
 * Self-contained copies of the kind schemas for editors: the shared definitions are copied into each
 * file, so a `# yaml-language-server: $schema=...` line needs nothing else. resource.schema.json, for
 * files that mix kinds, refers to its sibling files.
 */
export function bundleKindSchemas(): Map<string, Json> {
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
    out.set(file, { ...rewritten, $defs: defs });
  }
  out.set('resource.schema.json', readSchemaFile('resource.schema.json'));
  return out;
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
