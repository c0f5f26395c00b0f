/** The resource kinds of apiVersion rmm/v1 and the schema file of each, in dependency order. */
export const API_VERSION = 'rmm/v1';

export const KINDS = ['Site', 'Policy', 'DeviceGroup', 'Device'] as const;
export type Kind = (typeof KINDS)[number];

export const schemaFileOf: Record<Kind, string> = {
  Site: 'site.schema.json',
  Policy: 'policy.schema.json',
  DeviceGroup: 'device-group.schema.json',
  Device: 'device.schema.json',
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
}

export interface Metadata {
  name: string;
  labels?: Record<string, string>;
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
}

export interface DeviceGroupSpec extends PolicyAttachment {
  displayName?: string;
  description?: string;
  parent?: string;
  policy?: string;
  site?: string;
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

interface ResourceOf<K extends Kind, S> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: Metadata;
  spec: S;
}

export type Resource =
  | ResourceOf<'Site', SiteSpec>
  | ResourceOf<'Policy', PolicySpec>
  | ResourceOf<'DeviceGroup', DeviceGroupSpec>
  | ResourceOf<'Device', DeviceSpec>;
