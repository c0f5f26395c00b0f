import type { PathSegment } from '../diagnostics/diagnostic.js';
import { quote } from '../quote.js';
import type { CrossReferenceProblem, ResourceRefs } from './cross-references.js';
import { DEFAULT_SITE } from './kinds.js';

type Entry<Ref> = ResourceRefs & { ref: Ref };

/**
 * References to relays: a site's `spec.relay` must name a Relay (declared, or in the database), and
 * a device may ask for `via: relay` only in a site that has one (else there is nothing to go
 * through), nor may a declared site drop the relay that stored devices ask for. `missing` words an
 * unknown name with its did-you-mean, as for every other reference.
 */
export function relayProblems<Ref>(
  relays: ReadonlyMap<string, unknown>,
  declaredSites: ReadonlyMap<string, Entry<Ref>>,
  allSites: ReadonlyMap<string, ResourceRefs>,
  devices: ReadonlyMap<string, Entry<Ref>>,
  storedDevices: ReadonlyMap<string, ResourceRefs>,
  missing: (what: string, name: string, declared: Map<string, unknown>) => string,
): CrossReferenceProblem<Ref>[] {
  const out: CrossReferenceProblem<Ref>[] = [];
  const problem = (kind: 'Site' | 'Device', entry: Entry<Ref>, path: PathSegment[], message: string) =>
    out.push({ ref: entry.ref, kind, name: entry.name, code: 'reference', path, message });
  for (const site of declaredSites.values())
    if (site.relay && !relays.has(site.relay))
      problem('Site', site, ['spec', 'relay'], missing('relay', site.relay, new Map(relays)));
  const hasRelay = (site: string) => {
    const relay = allSites.get(site)?.relay;
    return relay !== undefined && relays.has(relay);
  };
  for (const device of devices.values()) {
    if (device.transportBlock?.via !== 'relay') continue;
    const site = device.site ?? DEFAULT_SITE;
    if (hasRelay(site)) continue;
    problem(
      'Device',
      device,
      ['spec', 'transport', 'via'],
      `via: relay needs a relay, and site ${quote(site)} has none (name one in the site's spec.relay, or leave via out to connect directly)`,
    );
  }
  // A declared site that drops its relay must not strand the devices only the database holds.
  const stranded = new Map<string, { first: string; count: number }>();
  for (const device of storedDevices.values()) {
    const site = declaredSites.get(device.site ?? DEFAULT_SITE);
    if (!site || hasRelay(site.name) || device.transportBlock?.via !== 'relay') continue;
    const seen = stranded.get(site.name);
    if (seen) seen.count++;
    else stranded.set(site.name, { first: device.name, count: 1 });
  }
  for (const [name, { first, count }] of stranded) {
    const more = count > 1 ? ` (and ${count - 1} more devices in the database)` : '';
    problem(
      'Site',
      declaredSites.get(name) as Entry<Ref>,
      ['spec'],
      `device ${quote(first)} in the database asks for via: relay, so this site needs a relay (spec.relay)${more}`,
    );
  }
  return out;
}
