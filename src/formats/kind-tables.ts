import type { Kind } from '../resources/kinds.js';

/**
 * Where each kind's declared fields live: a column of the seed's table (JSON for lists and maps), or
 * ManagedResources.Settings for fields the seed has no column for. docs/resources.md has the table.
 * Observed columns (LastSeen, Status, OS details, ...) are absent on purpose: apply never writes them.
 */
export interface KindTable {
  table: string;
  key: string;
  /** Declared field -> column. */
  columns: Record<string, string>;
  /** Fields stored as JSON text in their column. */
  json: ReadonlySet<string>;
  /** Fields kept in ManagedResources.Settings. */
  settings: readonly string[];
  /** A column stamped on every write, where the table has one. */
  updatedAt?: string;
}

export const KIND_TABLES: Record<Kind, KindTable> = {
  Relay: {
    table: 'Relays',
    key: 'RelayId',
    columns: { description: 'Description', nats: 'Nats', actionExpiry: 'ActionExpiry' },
    json: new Set(['nats']),
    settings: [],
    updatedAt: 'UpdatedAt',
  },
  Site: {
    table: 'Sites',
    key: 'SiteId',
    columns: {
      displayName: 'Name',
      location: 'Location',
      timezone: 'Timezone',
      relay: 'RelayAgent',
      contactEmail: 'ContactEmail',
    },
    json: new Set(),
    settings: ['defaults', 'policies', 'overrides', 'maintenance'],
  },
  Policy: {
    table: 'Policies',
    key: 'PolicyId',
    columns: { description: 'Description', monitors: 'Monitors', schedules: 'Schedules' },
    json: new Set(['monitors', 'schedules']),
    settings: ['interval'],
    updatedAt: 'UpdatedAt',
  },
  DeviceGroup: {
    table: 'DeviceGroups',
    key: 'GroupId',
    columns: { displayName: 'Name', description: 'Description', parent: 'ParentGroupId', policy: 'PolicyId' },
    json: new Set(),
    settings: ['site', 'policies', 'overrides', 'maintenance'],
  },
  Device: {
    table: 'Devices',
    key: 'DeviceId',
    columns: {
      hostname: 'Hostname',
      fqdn: 'FQDN',
      address: 'IPAddress',
      mac: 'MACAddress',
      site: 'SiteId',
      groups: 'GroupIds',
      tags: 'Tags',
      customFields: 'CustomFields',
    },
    json: new Set(['groups', 'tags', 'customFields']),
    settings: ['os', 'transport', 'policies', 'overrides', 'maintenance'],
    updatedAt: 'UpdatedAt',
  },
  NotificationChannel: {
    table: 'NotificationChannels',
    key: 'ChannelId',
    columns: { type: 'Type', webhook: 'Webhook', email: 'Email' },
    json: new Set(['webhook', 'email']),
    settings: [],
    updatedAt: 'UpdatedAt',
  },
  AlertRoute: {
    table: 'AlertRoutes',
    key: 'RouteId',
    columns: {
      channels: 'Channels',
      match: 'Match',
      notifyOnResolve: 'NotifyOnResolve',
      repeatEvery: 'RepeatEvery',
      groupWait: 'GroupWait',
    },
    json: new Set(['channels', 'match', 'notifyOnResolve']),
    settings: [],
    updatedAt: 'UpdatedAt',
  },
};

/** A value as SQLite stores it in these columns. */
export type SqlValue = string | number | null;
