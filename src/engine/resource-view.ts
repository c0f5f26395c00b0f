import type { Kind, Resource } from '../resources/kinds.js';

/**
 * A resource as plan and apply compare it: its declared fields by their YAML names, with defaults
 * filled in and every optional field present (null when unset), so that desired state (from YAML)
 * and stored state (from the database) have one shape and a field removed from YAML shows as a
 * change to null. Observed fields (LastSeen, Status, OS details, ...) are not part of it.
 */
export type FieldValue = null | string | number | boolean | FieldValue[] | { [key: string]: FieldValue };
export type Fields = Record<string, FieldValue>;

export interface ResourceView {
  kind: Kind;
  name: string;
  readonly fields: Fields;
  /**
   * The fields as one canonical string, when the caller has it (see formats/row-image imageOf).
   * Equal images mean equal fields, so plan skips the field diff for them; it is only a shortcut.
   */
  image?: string;
}

/** A view whose fields are decoded from its image only when someone reads them. */
export class ImageView implements ResourceView {
  #fields: Fields | undefined;
  constructor(
    readonly kind: Kind,
    readonly name: string,
    readonly image: string,
    private readonly decode: (kind: Kind, image: string) => Fields,
  ) {}

  get fields(): Fields {
    this.#fields ??= this.decode(this.kind, this.image);
    return this.#fields;
  }
}

/** The declared fields of each kind, in the order plans show them. */
export const FIELDS_OF: Record<Kind, readonly string[]> = {
  Relay: ['description', 'nats', 'actionExpiry', 'labels'],
  Site: [
    'displayName',
    'location',
    'timezone',
    'contactEmail',
    'relay',
    'policies',
    'overrides',
    'defaults',
    'maintenance',
    'labels',
  ],
  Policy: ['description', 'interval', 'monitors', 'schedules', 'labels'],
  DeviceGroup: [
    'displayName',
    'description',
    'parent',
    'policy',
    'policies',
    'overrides',
    'site',
    'maintenance',
    'labels',
  ],
  Device: [
    'hostname',
    'fqdn',
    'address',
    'mac',
    'site',
    'groups',
    'policies',
    'overrides',
    'os',
    'transport',
    'tags',
    'customFields',
    'maintenance',
    'labels',
  ],
  NotificationChannel: ['type', 'webhook', 'email', 'labels'],
  AlertRoute: ['channels', 'match', 'notifyOnResolve', 'repeatEvery', 'groupWait', 'labels'],
};

/** An AlertRoute's grouping window when it sets none (docs/notifications.md#routes). */
export const DEFAULT_GROUP_WAIT = '30s';

/** Fields whose absence means an empty list or map rather than null. */
const EMPTY_LIST = new Set(['groups', 'tags', 'monitors', 'schedules', 'channels']);
const EMPTY_MAP = new Set(['labels', 'customFields']);

export function viewOf(resource: Resource): ResourceView {
  const { kind } = resource;
  const name = resource.metadata.name;
  const spec = resource.spec as Record<string, unknown>;
  const fields: Fields = {};
  for (const field of FIELDS_OF[kind]) {
    const value = field === 'labels' ? resource.metadata.labels : spec[field];
    fields[field] = normalize(field, value);
  }
  // Defaults the database needs (Name and Hostname are NOT NULL): the resource's own name.
  if ((kind === 'Site' || kind === 'DeviceGroup') && fields.displayName === null) fields.displayName = name;
  if (kind === 'Device' && fields.hostname === null) fields.hostname = name;
  if (kind === 'AlertRoute') {
    fields.notifyOnResolve ??= true;
    fields.groupWait ??= DEFAULT_GROUP_WAIT;
  }
  return { kind, name, fields };
}

export function normalize(field: string, value: unknown): FieldValue {
  if (value === undefined || value === null) {
    if (EMPTY_LIST.has(field)) return [];
    if (EMPTY_MAP.has(field)) return {};
    return null;
  }
  return value as FieldValue;
}
