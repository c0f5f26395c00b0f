import { Args, Flags } from '@oclif/core';
import { deviceRecordsOf } from '../actions/targets.js';
import { dataDirFlags, outputFlags, outputFormat, RmmCommand } from '../base-command.js';
import type { StoredResource } from '../engine/plan.js';
import { toResource } from '../engine/to-resource.js';
import { RmmError } from '../errors.js';
import { deviceEffective, type EffectiveOfDevice } from '../monitoring/device-effective.js';
import { attachedPolicies, groupOfFields } from '../monitoring/policy-holders.js';
import type { Kind, PolicySpec } from '../resources/kinds.js';
import { monitorInputsOf } from '../service/monitor-inputs.js';
import { openResourceDatabase } from '../state/resource-database.js';
import { readStoredResources } from '../state/resource-store.js';
import { siteRelaysOf } from '../transports/device-route.js';
import { effectiveText } from '../views/device-effective.js';
import { type DeviceTransport, deviceTransportOf, renderDeviceTransport } from '../views/device-transport.js';
import { type Column, textTable } from '../views/table.js';
import { yamlText } from '../views/yaml-text.js';

const KIND_OF: Record<string, Kind> = {
  sites: 'Site',
  site: 'Site',
  policies: 'Policy',
  policy: 'Policy',
  groups: 'DeviceGroup',
  group: 'DeviceGroup',
  devices: 'Device',
  device: 'Device',
  channels: 'NotificationChannel',
  channel: 'NotificationChannel',
  routes: 'AlertRoute',
  route: 'AlertRoute',
  relays: 'Relay',
  relay: 'Relay',
};

/** Observed device columns, shown beside the declared fields (never declared, never applied). */
interface Observed {
  DeviceId: string;
  Status: string | null;
  LastSeen: string | null;
  OSName: string | null;
  OSVersion: string | null;
}

export default class Get extends RmmCommand {
  static override summary =
    'List sites, groups, devices, policies, notification channels, alert routes or relays from the database.';

  static override description = [
    'Shows what the database holds, managed by rmm or not (the MANAGED column tells). Devices also show their observed state (Status, LastSeen, OS), which transports write and apply never touches.',
    "Devices also show the transport block rmm connects with (effectiveTransport in JSON and YAML; below the table for one named device): the device's own spec.transport over its site's defaults.transport when that default is of the same transport type, with where each value came from, and its route: VIA is the relay that queues its actions (its site's, unless its block says via: direct) or direct. credentialRef is shown as the reference it is (env:NAME, file:PATH), never the secret.",
    'Relays show their NATS servers, the sites that name them, how many devices they serve, and the expiry of the actions queued through them (serves in JSON and YAML).',
  ].join('\n\n');

  static override examples = [
    { description: 'All devices as a table.', command: '<%= config.bin %> <%= command.id %> devices' },
    {
      description: 'One device, and the transport block rmm connects to it with.',
      command: '<%= config.bin %> <%= command.id %> devices alpha-dc-01',
    },
    {
      description: 'One device as YAML.',
      command: '<%= config.bin %> <%= command.id %> devices alpha-web-01 -o yaml',
    },
    { description: 'Sites as JSON.', command: '<%= config.bin %> <%= command.id %> sites -o json' },
    {
      description: 'Relays, with the sites and devices each serves.',
      command: '<%= config.bin %> <%= command.id %> relays',
    },
    {
      description:
        'What a device runs: its effective monitors and schedules, each with its policy and where it is attached, and each overridden value with its origin.',
      command: '<%= config.bin %> <%= command.id %> devices alpha-web-01 --effective',
    },
  ];

  static override args = {
    kind: Args.string({
      description: 'sites, groups, devices, policies, channels, routes or relays',
      required: true,
      options: Object.keys(KIND_OF),
    }),
    name: Args.string({ description: 'Only this resource.' }),
  };

  static override flags = {
    ...dataDirFlags,
    effective: Flags.boolean({
      summary: "One device's effective monitors and schedules, each value with its origin.",
      description:
        'Instead of the device: every monitor it runs (per series, the policy of the most specific holder wins: device over group over site; docs/monitoring.md#effective-monitors), with the overrides applied and each overridden value shown with the site, group or device whose override set it (like git config --show-origin), the monitors an override disabled, the schedules of every policy that reaches it, and the ties rmm validate refuses. JSON: {device, monitors, disabled, schedules, conflicts, clashes, problems}.',
    }),
    ...outputFlags(['table', 'yaml', 'json'], 'table'),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Get);
    const kind = KIND_OF[args.kind] as Kind;
    if (flags.effective && (kind !== 'Device' || !args.name))
      throw new RmmError('usage', '--effective shows one device: rmm get devices NAME --effective');
    const { db } = openResourceDatabase(this.dataDir(flags), { readonly: true });
    let views: StoredResource[];
    let observed = new Map<string, Observed>();
    let effective: EffectiveOfDevice | undefined;
    const sites = new Map<string, Record<string, unknown>>();
    let siteRelays = new Map<string, string>();
    let served = new Map<string, RelayService>();
    try {
      const stored = readStoredResources(db);
      for (const r of stored) if (r.kind === 'Site') sites.set(r.name, r.fields);
      siteRelays = siteRelaysOf(stored);
      if (kind === 'Relay') served = relayServices(stored);
      views = stored.filter((r) => r.kind === kind && (!args.name || r.name === args.name));
      const [one] = views;
      if (flags.effective && one) effective = effectiveOf(one, stored);
      if (kind === 'Device') {
        const rows = db
          .prepare('SELECT DeviceId, Status, LastSeen, OSName, OSVersion FROM Devices')
          .all() as Observed[];
        observed = new Map(rows.map((r) => [r.DeviceId, r]));
      }
    } finally {
      db.close();
    }
    if (args.name && views.length === 0)
      throw new RmmError('not-found', `${kind}/${args.name} is not in the database`);
    if (effective) {
      const format = outputFormat(flags);
      const record = { device: args.name, ...effective };
      if (format === 'json') this.log(JSON.stringify(record, null, 2));
      else if (format === 'yaml') this.log(yamlText(record).trimEnd());
      else this.log(effectiveText(args.name ?? '', effective));
      return;
    }
    const transports = new Map<string, DeviceTransport>(
      kind === 'Device' ? views.map((v) => [v.name, deviceTransportOf(v.fields, sites, siteRelays)]) : [],
    );
    const records = views.map((v) => ({
      ...(toResource(v) as object),
      managed: v.managed,
      status: observedOf(observed.get(v.name)),
      ...(transports.has(v.name) ? { effectiveTransport: transports.get(v.name) } : {}),
      ...(kind === 'Relay' ? { serves: served.get(v.name) ?? { sites: [], devices: 0 } } : {}),
    }));
    const format = outputFormat(flags);
    if (format === 'json') this.log(JSON.stringify(records, null, 2));
    else if (format === 'yaml')
      this.log(
        records
          .map((r) => yamlText(r))
          .join('---\n')
          .trimEnd(),
      );
    else {
      this.log(table(kind, views, observed, { transports, served }));
      const one = args.name ? transports.get(args.name) : undefined;
      if (one) this.log(['', ...renderDeviceTransport(one)].join('\n'));
    }
  }
}

/** The device's effective monitors and schedules from the stored sites, groups and policies. */
function effectiveOf(device: StoredResource, stored: readonly StoredResource[]): EffectiveOfDevice {
  // The inputs rmm serve reads (rows edited by hand filtered alike), for this one device only.
  const inputs = monitorInputsOf(stored.filter((r) => r.kind !== 'Device' || r.name === device.name));
  const link = inputs.devices[0];
  if (!link) throw new Error(`rmm bug: device ${device.name} was not read back`);
  // The listing shows schedules too, which the monitor inputs leave out.
  const policies = new Map<string, PolicySpec>();
  for (const r of stored) {
    const spec = r.kind === 'Policy' ? inputs.policies.get(r.name) : undefined;
    const schedules = r.fields.schedules;
    // As stored: deviceEffective reads them through policySchedules, which checks each.
    if (spec) policies.set(r.name, { ...spec, schedules: schedules as PolicySpec['schedules'] });
  }
  return deviceEffective(link, inputs.groups, policies, inputs.sites);
}

function observedOf(row: Observed | undefined) {
  return row
    ? { status: row.Status, lastSeen: row.LastSeen, osName: row.OSName, osVersion: row.OSVersion }
    : undefined;
}

/** What a relay serves: the sites that name it, and how many devices its queue reaches. */
interface RelayService {
  sites: string[];
  devices: number;
}

function relayServices(stored: readonly StoredResource[]): Map<string, RelayService> {
  const out = new Map<string, RelayService>();
  const of = (relay: string) => {
    const service = out.get(relay) ?? { sites: [], devices: 0 };
    out.set(relay, service);
    return service;
  };
  for (const [site, relay] of siteRelaysOf(stored)) of(relay).sites.push(site);
  for (const device of deviceRecordsOf(stored)) if (device.queue) of(device.queue.route).devices++;
  return out;
}

function table(
  kind: Kind,
  views: StoredResource[],
  observed: Map<string, Observed>,
  routes: { transports: ReadonlyMap<string, DeviceTransport>; served: ReadonlyMap<string, RelayService> },
): string {
  const text = (v: unknown) =>
    v === null || v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v);
  const columns: Array<Column<StoredResource>> = [['NAME', (v) => v.name]];
  if (kind === 'Site')
    columns.push(
      ['DISPLAY NAME', (v) => text(v.fields.displayName)],
      ['TIMEZONE', (v) => text(v.fields.timezone)],
      ['POLICIES', (v) => text(v.fields.policies)],
    );
  if (kind === 'Policy')
    columns.push(
      ['MONITORS', (v) => String((v.fields.monitors as unknown[]).length)],
      ['SCHEDULES', (v) => String((v.fields.schedules as unknown[]).length)],
    );
  if (kind === 'DeviceGroup')
    columns.push(
      ['PARENT', (v) => text(v.fields.parent)],
      ['POLICIES', (v) => attachedPolicies(groupOfFields(v.fields)).join(',')],
      ['SITE', (v) => text(v.fields.site)],
    );
  if (kind === 'Relay')
    columns.push(
      ['SERVERS', (v) => text((v.fields.nats as { servers?: unknown } | null)?.servers)],
      ['SITES', (v) => text(routes.served.get(v.name)?.sites)],
      ['DEVICES', (v) => String(routes.served.get(v.name)?.devices ?? 0)],
      ['EXPIRY', (v) => text(v.fields.actionExpiry ?? '24h')],
    );
  if (kind === 'NotificationChannel')
    columns.push(['TYPE', (v) => text(v.fields.type)], ['TO', (v) => channelTarget(v.fields)]);
  if (kind === 'AlertRoute')
    columns.push(
      ['CHANNELS', (v) => text(v.fields.channels)],
      ['REPEAT', (v) => text(v.fields.repeatEvery)],
      ['GROUP WAIT', (v) => text(v.fields.groupWait)],
    );
  if (kind === 'Device') {
    columns.push(
      ['SITE', (v) => text(v.fields.site)],
      ['ADDRESS', (v) => text(v.fields.address)],
      ['OS', (v) => text(observed.get(v.name)?.OSName ?? v.fields.os)],
      ['STATUS', (v) => text(observed.get(v.name)?.Status)],
      ['LAST SEEN', (v) => text(observed.get(v.name)?.LastSeen)],
      ['VIA', (v) => routes.transports.get(v.name)?.relay ?? 'direct'],
    );
  }
  columns.push(['MANAGED', (v) => (v.managed ? 'yes' : 'no')]);
  return textTable(columns, views);
}

/** Where a channel sends, without a secret: a webhook's format (its URL is a reference), a mail's server. */
function channelTarget(fields: Record<string, unknown>): string {
  const webhook = fields.webhook as { format?: string } | null;
  const email = fields.email as { host?: string; port?: number; to?: unknown } | null;
  if (webhook) return `webhook (${webhook.format ?? 'generic'})`;
  // A row edited by hand may hold one address rather than a list.
  const to = Array.isArray(email?.to) ? email.to.join(',') : String(email?.to ?? '');
  if (email) return `${to} via ${email.host}:${email.port ?? 587}`;
  return '';
}
