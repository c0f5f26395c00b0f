import type { ResourceRefs } from '../resources/cross-references.js';
import type { Kind } from '../resources/kinds.js';
import type { DocumentResult } from './check-document.js';

/**
 * A document's check result as one line of text, as the cache stores it. A valid resource is
 * tab-separated (kind, name, site, parent, policy, groups comma-separated, transport type, transport
 * block as JSON, the other references as JSON (policies, overrides, a policy's monitors, a site's
 * relay, a route's channels, sites and groups), row image): names cannot hold tabs, commas or
 * newlines, and the JSON fields and the image are JSON, which escapes them, so they are stored as is
 * (JSON around it would escape it again and double the size). An empty document is `-`; anything
 * else is its JSON, starting with `{`. (Tried as the worker transport too: no faster than JSON on
 * 100,000 documents, and the sliced strings kept 150 MB more alive, so workers send JSON.)
 */
export function encodeResult(result: DocumentResult): string {
  if (result.empty) return '-';
  if (result.diagnostics.length > 0 || !result.refs) return JSON.stringify(result);
  const { kind, name, site, parent, policy, groups, transport, transportBlock } = result.refs;
  const { policies, overrides, monitors, relay, channels, matchSites, matchGroups } = result.refs;
  const more = { policies, overrides, monitors, relay, channels, matchSites, matchGroups };
  const attached = Object.values(more).some((v) => v !== undefined) ? JSON.stringify(more) : '';
  return [
    kind,
    name,
    site ?? '',
    parent ?? '',
    policy ?? '',
    groups?.join(',') ?? '',
    transport ?? '',
    transportBlock ? JSON.stringify(transportBlock) : '',
    attached,
    result.declared?.image ?? '',
  ].join('\t');
}

/** The result a line holds, or undefined when it is not one. */
export function decodeResult(line: string): DocumentResult | undefined {
  if (line === '-') return { diagnostics: [], empty: true };
  if (line.startsWith('{')) return JSON.parse(line) as DocumentResult;
  const [kind, name, site, parent, policy, groups, transport, block, attached, image] = line.split('\t') as [
    Kind,
    ...string[],
  ];
  if (image === undefined || name === undefined) return undefined;
  const refs: ResourceRefs = { kind, name };
  if (site) refs.site = site;
  if (parent) refs.parent = parent;
  if (policy) refs.policy = policy;
  if (groups) refs.groups = groups.split(',');
  if (transport) refs.transport = transport;
  if (block) refs.transportBlock = JSON.parse(block) as Record<string, unknown>;
  // JSON drops the unset ones, so only what the resource refers to comes back.
  if (attached) Object.assign(refs, JSON.parse(attached) as Partial<ResourceRefs>);
  return image ? { diagnostics: [], refs, declared: { kind, name, image } } : { diagnostics: [], refs };
}
