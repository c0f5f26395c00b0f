import type { ResourceView } from '../engine/resource-view.js';
import { RmmError } from '../errors.js';
import type { Db } from '../state/connection.js';
import { readStoredResources } from '../state/resource-store.js';
import { type QueueRoute, queueRouteOf, siteRelaysOf } from '../transports/device-route.js';
import { effectiveTransport, type TransportBlock } from '../transports/effective-transport.js';

/**
 * Which devices an action runs on, and how each is reached. Selectors are what `rmm exec --target`
 * takes: terms joined by commas must all hold (AND), several --target flags add up (OR).
 *
 *   name=web-01   name=web-*   site=alpha   group=linux   label.role=web
 *
 * A device is in a group when its spec.groups lists the group or one of the group's descendants.
 */
export interface DeviceRecord {
  name: string;
  /** spec.address, else spec.fqdn, else spec.hostname. */
  host: string;
  os: 'linux' | 'windows' | 'macos' | null;
  site: string;
  groups: string[];
  labels: Record<string, string>;
  /**
   * spec.transport over the site's defaults.transport when that default is of the same transport
   * type (transports/effective-transport.ts); `type` is always set.
   */
  transport: Record<string, unknown>;
  /**
   * Set when the device is reached through a queued transport's route (its site's relay, unless
   * its own transport block says `via: direct`): rmm submits its actions there instead of running
   * them over `transport` itself, which travels with the action for the far side to use.
   */
  queue?: QueueRoute | null;
}

type Term =
  | { field: 'name' | 'site' | 'group'; value: string }
  | { field: 'label'; key: string; value: string };

const TERM = /^(name|site|group|label\.[A-Za-z0-9_./-]+)=(.+)$/;

export function parseSelector(selector: string): Term[] {
  const terms = selector.split(',').map((t) => t.trim());
  return terms.map((text) => {
    const match = TERM.exec(text);
    if (!match) {
      throw new RmmError(
        'usage',
        `--target ${JSON.stringify(selector)}: ${JSON.stringify(text)} is not a selector term`,
        {
          details: [
            'terms: name=NAME (* matches any run of characters), site=SITE, group=GROUP, label.KEY=VALUE; join with commas for AND, repeat --target for OR',
          ],
        },
      );
    }
    const [, field = '', value = ''] = match;
    if (field.startsWith('label.')) return { field: 'label', key: field.slice('label.'.length), value };
    return { field: field as 'name' | 'site' | 'group', value };
  });
}

/** The devices the selectors match, by name; an empty result is an error naming the selectors. */
export function selectDevices(db: Db, selectors: readonly string[]): DeviceRecord[] {
  const parsed = selectors.map(parseSelector);
  const { devices, parents } = readDevices(db);
  const inGroup = (device: DeviceRecord, group: string) =>
    device.groups.some((g) => {
      // The device's group or any group above it, bounded against a hand-made cycle.
      let current: string | null | undefined = g;
      for (let depth = 0; current && depth < 64; depth++) {
        if (current === group) return true;
        current = parents.get(current);
      }
      return false;
    });
  const holds = (device: DeviceRecord, term: Term): boolean => {
    switch (term.field) {
      case 'name':
        return globToRegExp(term.value).test(device.name);
      case 'site':
        return device.site === term.value;
      case 'group':
        return inGroup(device, term.value);
      case 'label':
        return device.labels[term.key] === term.value;
    }
  };
  const chosen = devices
    .filter((d) => parsed.some((terms) => terms.every((term) => holds(d, term))))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  if (chosen.length === 0)
    throw new RmmError(
      'not-found',
      `no device matches ${selectors.map((s) => `--target ${s}`).join(' or ')}`,
    );
  return chosen;
}

/**
 * Every device by name, as selectDevices builds them: `rmm actions run` resolves each queued
 * action's device here at run time, so a device changed since it was queued is reached as it is now.
 */
export function devicesByName(db: Db): Map<string, DeviceRecord> {
  return new Map(readDevices(db).devices.map((d) => [d.name, d]));
}

function readDevices(db: Db): { devices: DeviceRecord[]; parents: Map<string, string | null> } {
  const stored = readStoredResources(db);
  const parents = new Map<string, string | null>();
  for (const r of stored)
    if (r.kind === 'DeviceGroup') parents.set(r.name, (r.fields.parent as string | null) ?? null);
  return { devices: deviceRecordsOf(stored), parents };
}

/**
 * The device records of a set of resources (the stored rows, or a plan's state after apply): each
 * Device with its site's default transport merged in, and its route (its site's relay, when the site
 * names a Relay of `resources`, unless its block says `via: direct`). Pure; `rmm plan` reads a
 * planned state here.
 */
export function deviceRecordsOf(resources: readonly ResourceView[]): DeviceRecord[] {
  const sites = new Map<string, Record<string, unknown>>();
  const devices: DeviceRecord[] = [];
  for (const r of resources) if (r.kind === 'Site') sites.set(r.name, r.fields);
  const relays = siteRelaysOf(resources);
  for (const r of resources) {
    if (r.kind !== 'Device') continue;
    const f = r.fields;
    const site = String(f.site ?? 'main');
    const defaults = (sites.get(site)?.defaults as { transport?: TransportBlock } | null | undefined)
      ?.transport;
    const { block: transport } = effectiveTransport(f.transport as TransportBlock | null, defaults);
    devices.push({
      name: r.name,
      host: String(f.address ?? f.fqdn ?? f.hostname ?? r.name),
      os: (f.os as DeviceRecord['os']) ?? null,
      site,
      groups: (f.groups as string[] | null) ?? [],
      labels: (f.labels as Record<string, string> | null) ?? {},
      transport,
      queue: queueRouteOf(transport, relays.get(site)),
    });
  }
  return devices;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}
