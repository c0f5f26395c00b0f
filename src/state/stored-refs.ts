import { holderOfFields } from '../monitoring/policy-holders.js';
import { monitorRefsOf, type ResourceRefs, refsOfFields } from '../resources/cross-references.js';
import type { Db } from './connection.js';

/**
 * What the cross-reference checks need of the resources the database holds, managed or not: each
 * site (with its transport default), policy and group, the devices that are in a group, and those
 * with a transport block of their own (a device nothing refers to matters only through its groups,
 * and its transport block only through its site's default). Plan and apply resolve references
 * against these as well as the input, so one site's files can be planned alone. Reads only columns
 * every schema version has.
 */
export function readStoredRefs(db: Db): ResourceRefs[] {
  return [...readStoredResourceRefs(db), ...readStoredDeviceRefs(db)];
}

/**
 * What references resolve to: every stored site, policy and group (a few thousand rows at most, so
 * read whole before the input is checked).
 */
export function readStoredResourceRefs(db: Db): ResourceRefs[] {
  const out: ResourceRefs[] = [];
  const sites = db
    .prepare(
      `SELECT s.SiteId, s.RelayAgent,
         CASE WHEN json_valid(m.Settings) THEN
           CASE WHEN json_type(m.Settings, '$.defaults.transport') = 'object'
             THEN json_extract(m.Settings, '$.defaults.transport') END END,
         ${ATTACHED}
       FROM Sites s LEFT JOIN ManagedResources m ON m.Kind = 'Site' AND m.Name = s.SiteId`,
    )
    .raw()
    .all() as Array<[string, string | null, unknown, unknown, unknown]>;
  for (const [name, relay, transport, policies, overrides] of sites) {
    const refs: ResourceRefs = { kind: 'Site', name, ...attachedRefs(policies, overrides) };
    // The relay it names: a prune must not destroy it, and its devices may ask for via: relay.
    if (relay) refs.relay = relay;
    // A site's transport default, for checking the blocks its declared devices are reached with.
    if (typeof transport === 'string') refs.transportBlock = JSON.parse(transport) as Record<string, unknown>;
    out.push(refs);
  }
  const policyRows = db
    .prepare(`SELECT PolicyId, CASE WHEN json_valid(Monitors) THEN Monitors END FROM Policies`)
    .raw()
    .all() as Array<[string, string | null]>;
  for (const [name, monitors] of policyRows) {
    const list = monitors ? (JSON.parse(monitors) as unknown) : [];
    // What the override checks need; a monitor edited by hand into another shape is left out.
    const readable = Array.isArray(list)
      ? list.filter(
          (m): m is { name: string; metric: string } =>
            typeof m === 'object' && m !== null && typeof m.name === 'string' && typeof m.metric === 'string',
        )
      : [];
    out.push({ kind: 'Policy', name, monitors: monitorRefsOf(readable) });
  }
  const groups = db
    .prepare(
      `SELECT g.GroupId, g.ParentGroupId, g.PolicyId,
         CASE WHEN json_valid(m.Settings) THEN json_extract(m.Settings, '$.site') END,
         ${ATTACHED}
       FROM DeviceGroups g LEFT JOIN ManagedResources m ON m.Kind = 'DeviceGroup' AND m.Name = g.GroupId`,
    )
    .raw()
    .all() as Array<[string, string | null, string | null, unknown, unknown, unknown]>;
  for (const [name, parent, policy, site, policies, overrides] of groups) {
    const refs: ResourceRefs = { kind: 'DeviceGroup', name, ...attachedRefs(policies, overrides) };
    if (typeof site === 'string') refs.site = site;
    if (parent) refs.parent = parent;
    if (policy) refs.policy = policy;
    out.push(refs);
  }
  out.push(...readStoredNotificationRefs(db), ...readStoredRelayRefs(db));
  return out;
}

/** Every stored relay (what sites name); none in a database not yet migrated to the table. */
function readStoredRelayRefs(db: Db): ResourceRefs[] {
  const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'Relays'`).get();
  if (!table) return [];
  const names = db.prepare('SELECT RelayId FROM Relays').pluck().all() as string[];
  return names.map((name) => ({ kind: 'Relay', name }));
}

/**
 * Every stored channel (what routes name) and route (what a prune of a channel must not break). A
 * database not yet migrated to the tables has none: plan shows the step that creates them.
 */
function readStoredNotificationRefs(db: Db): ResourceRefs[] {
  const tables = db
    .prepare(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('NotificationChannels', 'AlertRoutes')`,
    )
    .pluck()
    .all() as string[];
  const out: ResourceRefs[] = [];
  if (tables.includes('NotificationChannels'))
    for (const name of db.prepare('SELECT ChannelId FROM NotificationChannels').pluck().all() as string[])
      out.push({ kind: 'NotificationChannel', name });
  if (!tables.includes('AlertRoutes')) return out;
  const routes = db
    .prepare(
      `SELECT RouteId, CASE WHEN json_valid(Channels) THEN Channels END,
         CASE WHEN json_valid(Match) THEN Match END FROM AlertRoutes`,
    )
    .raw()
    .all() as Array<[string, string | null, string | null]>;
  for (const [name, channels, match] of routes)
    out.push(
      refsOfFields('AlertRoute', name, {
        channels: channels ? JSON.parse(channels) : [],
        match: match ? JSON.parse(match) : null,
      }),
    );
  return out;
}

/** A holder's policies and overrides from ManagedResources.Settings, as JSON text or NULL. */
const ATTACHED = `${arrayAt('policies')}, ${arrayAt('overrides')}`;

/** A JSON array under Settings' key as JSON text, else NULL (a string there reads back bare, not as JSON). */
function arrayAt(key: string): string {
  return `CASE WHEN json_valid(m.Settings) THEN
    CASE WHEN json_type(m.Settings, '$.${key}') = 'array' THEN json_extract(m.Settings, '$.${key}') END END`;
}

function attachedRefs(policies: unknown, overrides: unknown): Pick<ResourceRefs, 'policies' | 'overrides'> {
  const list = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as unknown) : undefined);
  // holderOfFields keeps only names and overrides naming a monitor, as rmm serve reads them.
  const held = holderOfFields({ policies: list(policies), overrides: list(overrides) });
  return {
    ...(Array.isArray(list(policies)) ? { policies: [...(held.policies ?? [])] } : {}),
    ...(Array.isArray(list(overrides)) ? { overrides: [...(held.overrides ?? [])] } : {}),
  };
}

/**
 * The stored devices the checks need: those in a group, those that attach policies, and those with a transport block of their
 * own (a declared site's default must still fit them), leaving out the ones `declared` names (the
 * input replaces them). A no-op plan of 100,000 devices declares them all, and SQLite leaves them
 * out in 50 ms, where reading them took 350 ms.
 */
export function readStoredDeviceRefs(db: Db, declared: Iterable<string> = []): ResourceRefs[] {
  const out: ResourceRefs[] = [];
  // CASE, not AND, guards the JSON functions: SQLite need not short-circuit.
  const devices = db
    .prepare(
      `SELECT d.DeviceId, d.SiteId, CASE WHEN json_valid(d.GroupIds) THEN d.GroupIds END,
         CASE WHEN json_valid(m.Settings) THEN
           CASE WHEN json_type(m.Settings, '$.transport') = 'object' THEN json_extract(m.Settings, '$.transport') END
         END AS block,
         ${arrayAt('policies')} AS policies
       FROM Devices d LEFT JOIN ManagedResources m ON m.Kind = 'Device' AND m.Name = d.DeviceId
       WHERE d.DeviceId NOT IN (SELECT value FROM json_each(?))
         AND (block IS NOT NULL OR policies IS NOT NULL
           OR CASE WHEN json_valid(d.GroupIds) THEN json_array_length(d.GroupIds) > 0 ELSE 0 END)`,
    )
    .raw()
    .all(JSON.stringify([...declared])) as Array<
    [string, string | null, string | null, string | null, string | null]
  >;
  for (const [name, site, groupIds, block, policies] of devices) {
    const refs = new StoredDeviceRefs(name, block);
    // The policies it attaches itself: a prune must not destroy one of them (engine/kept-references).
    const own = attachedRefs(policies, null).policies;
    if (own?.length) refs.policies = own;
    if (site) refs.site = site;
    const groups = groupIds ? (JSON.parse(groupIds) as unknown) : [];
    if (Array.isArray(groups) && groups.length > 0)
      refs.groups = groups.filter((g): g is string => typeof g === 'string');
    out.push(refs);
  }
  return out;
}

/**
 * A stored device's refs. Its transport block is parsed only when read: plan reads the blocks of
 * 100,000 stored devices and needs only those of devices the input does not declare again.
 */
class StoredDeviceRefs implements ResourceRefs {
  readonly kind = 'Device' as const;
  site?: string;
  groups?: string[];
  policies?: string[];
  #block: string | null;
  #parsed: Record<string, unknown> | undefined;
  constructor(
    readonly name: string,
    block: string | null,
  ) {
    this.#block = block;
  }

  get transportBlock(): Record<string, unknown> | undefined {
    if (this.#block !== null) {
      this.#parsed = JSON.parse(this.#block) as Record<string, unknown>;
      this.#block = null;
    }
    return this.#parsed;
  }
}
