import { printable } from '../printable.js';
import { queueRouteOf } from '../transports/device-route.js';
import {
  type EffectiveTransport,
  effectiveTransport,
  type TransportBlock,
} from '../transports/effective-transport.js';

/**
 * What `rmm get devices` shows of a device's transport: the block rmm connects with (the device's
 * own over its site's default of the same type), where each value came from, and whether the site's
 * default applies, and its route (direct, or through its site's relay). credentialRef is a reference (env:NAME, file:PATH), never the secret.
 */
export interface DeviceTransport {
  type: string;
  block: TransportBlock;
  from: EffectiveTransport['from'];
  /** The device's site's default, when the site has one. */
  siteDefault?: { site: string; type: string; applies: boolean };
  /** Whether rmm connects itself or queues the device's actions on its site's relay. */
  via: 'direct' | 'relay';
  /** The relay, when via is relay. */
  relay?: string;
}

export function deviceTransportOf(
  device: Record<string, unknown>,
  sites: ReadonlyMap<string, Record<string, unknown>>,
  siteRelays: ReadonlyMap<string, string> = new Map(),
): DeviceTransport {
  const site = String(device.site ?? 'main');
  const siteDefault = (sites.get(site)?.defaults as { transport?: TransportBlock } | null | undefined)
    ?.transport;
  const effective = effectiveTransport(device.transport as TransportBlock | null, siteDefault);
  const route = queueRouteOf(effective.block, siteRelays.get(site));
  const out: DeviceTransport = {
    type: effective.type,
    block: effective.block,
    from: effective.from,
    ...(route ? { via: 'relay', relay: route.route } : { via: 'direct' }),
  };
  if (effective.siteApplies) out.siteDefault = { site, type: effective.type, applies: true };
  else if (effective.siteIgnored !== undefined)
    out.siteDefault = { site, type: effective.siteIgnored, applies: false };
  return out;
}

/** The text form: one line per field with its value and source, then a note on the site's default. */
export function renderDeviceTransport(transport: DeviceTransport): string[] {
  const site = transport.siteDefault?.site;
  const sourceOf = (key: string) =>
    ({ device: 'device', site: `default of site "${site}"`, 'built-in': 'built-in default' })[
      transport.from[key] ?? 'device'
    ];
  // Keys and values are the YAML's and the database's: escaped, so each row is one line.
  const rows = Object.entries(transport.block).map(([key, value]) => [
    printable(key),
    printable(typeof value === 'string' ? value : JSON.stringify(value)),
    printable(sourceOf(key)),
  ]);
  if (!('port' in transport.block))
    rows.splice(1, 0, ['port', '(not set)', `the ${transport.type} transport's default`]);
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  const lines = ['Transport (what rmm connects with):'];
  for (const [key, value, source] of rows)
    lines.push(
      `  ${(key as string).padEnd(widths[0] as number)}  ${(value as string).padEnd(widths[1] as number)}  ${source}`,
    );
  lines.push(
    printable(
      transport.relay === undefined
        ? '  Route: direct (rmm connects from this console)'
        : `  Route: through relay "${transport.relay}" (the site's relay: actions are queued for it and run at the site)`,
    ),
  );
  if (transport.siteDefault && !transport.siteDefault.applies)
    lines.push(
      printable(
        `  The default of site "${site}" is for ${transport.siteDefault.type} devices; it does not apply to this ${transport.type} device.`,
      ),
    );
  return lines;
}
