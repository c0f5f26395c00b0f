/** The resource kinds of apiVersion rmm/v1 and the schema file of each, in dependency order. */
export const API_VERSION = 'rmm/v1';

export const KINDS = [
  'Relay',
  'Site',
  'Policy',
  'DeviceGroup',
  'Device',
  'NotificationChannel',
  'AlertRoute',
] as const;
export type Kind = (typeof KINDS)[number];

export const schemaFileOf: Record<Kind, string> = {
  Relay: 'relay.schema.json',
  Site: 'site.schema.json',
  Policy: 'policy.schema.json',
  DeviceGroup: 'device-group.schema.json',
  Device: 'device.schema.json',
  NotificationChannel: 'notification-channel.schema.json',
  AlertRoute: 'alert-route.schema.json',
};

export function isKind(value: unknown): value is Kind {
  return typeof value === 'string' && (KINDS as readonly string[]).includes(value);
}

/** The site every database has (the seed's row); it needs no declaration and is never pruned. */
export const DEFAULT_SITE = 'main';

export interface TransportSpec {
  type?: string;
  port?: number;
  user?: string;
  credentialRef?: string;
  /** Through the site's relay (the default when the site has one) or straight from the console. */
  via?: 'relay' | 'direct';
}

export interface Metadata {
  name: string;
  labels?: Record<string, string>;
}

/**
 * A maintenance window (docs/maintenance.md): recurring (`cron` and `duration`, in the site's time
 * zone) or one-off (`start` and `end`, local to the site's zone unless they give an offset).
 */
export interface MaintenanceWindow {
  name: string;
  cron?: string;
  duration?: string;
  start?: string;
  end?: string;
  /** Schedules due during the window are held until it ends (default false: alerts only are kept quiet). */
  pauseSchedules?: boolean;
}

/**
 * A change to an inherited monitor, held by a site, group or device (docs/monitoring.md#overrides):
 * the monitor by name (and its policy when two reaching policies have one of that name), then the
 * fields it changes, or `disabled`.
 */
export interface MonitorOverride {
  monitor: string;
  policy?: string;
  when?: { op?: Monitor['when']['op']; value?: number; for?: string };
  severity?: Monitor['severity'];
  disabled?: boolean;
}

/** What a site, group or device attaches: policies, several per level, and overrides. */
export interface PolicyAttachment {
  policies?: string[];
  overrides?: MonitorOverride[];
}

export interface SiteSpec extends PolicyAttachment {
  displayName?: string;
  location?: string;
  timezone?: string;
  contactEmail?: string;
  relay?: string;
  defaults?: { transport?: TransportSpec };
  maintenance?: MaintenanceWindow[];
}

export interface DeviceGroupSpec extends PolicyAttachment {
  displayName?: string;
  description?: string;
  parent?: string;
  policy?: string;
  site?: string;
  maintenance?: MaintenanceWindow[];
}

export interface DeviceSpec extends PolicyAttachment {
  hostname?: string;
  fqdn?: string;
  address?: string;
  mac?: string;
  site: string;
  groups?: string[];
  os?: 'linux' | 'windows' | 'macos';
  transport?: TransportSpec;
  tags?: string[];
  customFields?: Record<string, string | number | boolean>;
  maintenance?: MaintenanceWindow[];
}

export interface Monitor {
  name: string;
  metric: string;
  match?: Record<string, string>;
  when: { op: '>' | '>=' | '<' | '<=' | '==' | '!='; value: number; for?: string };
  interval?: string;
  severity: 'Info' | 'Warning' | 'Critical';
  autoResolve?: boolean;
  /** No site, group or device may override it. */
  enforced?: boolean;
}

export interface Schedule {
  action: 'inventory' | 'exec';
  every: string;
  command?: string;
  priority?: number;
}

export interface PolicySpec {
  description?: string;
  interval?: string;
  monitors?: Monitor[];
  schedules?: Schedule[];
}

/** Where notifications go (docs/notifications.md#channels). Secrets are references (env:, file:) only. */
export interface NotificationChannelSpec {
  type: 'webhook' | 'email';
  webhook?: WebhookChannelSpec;
  email?: EmailChannelSpec;
}

export type WebhookFormat = 'generic' | 'slack' | 'teams' | 'discord';

export interface WebhookChannelSpec {
  /** A reference to the URL (it carries the receiver's token), never the URL itself. */
  url: string;
  format?: WebhookFormat;
  timeout?: string;
}

export interface EmailChannelSpec {
  host: string;
  port?: number;
  starttls?: 'required' | 'off';
  from: string;
  to: string[];
  auth?: { user: string; password: string };
  tls?: { caFile?: string; verify?: boolean };
  timeout?: string;
}

/** Which alerts go to which channels (docs/notifications.md#routes). */
export interface AlertRouteSpec {
  channels: string[];
  match?: {
    severities?: Monitor['severity'][];
    sites?: string[];
    groups?: string[];
    labels?: Record<string, string>;
  };
  notifyOnResolve?: boolean;
  repeatEvery?: string;
  groupWait?: string;
}

/**
 * A relay agent at a remote site (docs/resources.md#relay---relays): the console's connection to its
 * queue, `nats` (the relay transport plugin's options, plus a credentialRef), and the default expiry
 * of the actions queued through it. The sites it serves name it in their spec.relay.
 */
export interface RelaySpec {
  description?: string;
  nats: Record<string, unknown> & { credentialRef?: string };
  actionExpiry?: string;
}

interface ResourceOf<K extends Kind, S> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: Metadata;
  spec: S;
}

export type Resource =
  | ResourceOf<'Relay', RelaySpec>
  | ResourceOf<'Site', SiteSpec>
  | ResourceOf<'Policy', PolicySpec>
  | ResourceOf<'DeviceGroup', DeviceGroupSpec>
  | ResourceOf<'Device', DeviceSpec>
  | ResourceOf<'NotificationChannel', NotificationChannelSpec>
  | ResourceOf<'AlertRoute', AlertRouteSpec>;
