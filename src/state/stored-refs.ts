import type { ResourceRefs } from '../resources/cross-references.js';
import type { Db } from './connection.js';

/**
 * What the cross-reference checks need of the resources the database holds, managed or not: each
 * site (with its transport default), policy and group, and the devices that are in a group (a device
 * nothing refers to matters only through its groups). Plan and apply resolve references against these as well as the input,
 * so one site's files can be planned alone. Reads only columns every schema version has.
 */
export function readStoredRefs(db: Db): ResourceRefs[] {
  const out: ResourceRefs[] = [];
  const sites = db
    .prepare(
      `SELECT s.SiteId,
         CASE WHEN json_valid(m.Settings) THEN
           CASE WHEN json_type(m.Settings, '$.defaults.transport') = 'object'
             THEN json_extract(m.Settings, '$.defaults.transport') END END
       FROM Sites s LEFT JOIN ManagedResources m ON m.Kind = 'Site' AND m.Name = s.SiteId`,
    )
    .raw()
    .all() as Array<[string, unknown]>;
  for (const [name, transport] of sites) {
    const refs: ResourceRefs = { kind: 'Site', name };
    // A site's transport default, for checking the blocks its declared devices are reached with.
    if (typeof transport === 'string') refs.transportBlock = JSON.parse(transport) as Record<string, unknown>;
    out.push(refs);
  }
  for (const [name] of db.prepare('SELECT PolicyId FROM Policies').raw().all() as Array<[string]>)
    out.push({ kind: 'Policy', name });
  const groups = db
    .prepare(
      `SELECT g.GroupId, g.ParentGroupId, g.PolicyId,
         CASE WHEN json_valid(m.Settings) THEN json_extract(m.Settings, '$.site') END
       FROM DeviceGroups g LEFT JOIN ManagedResources m ON m.Kind = 'DeviceGroup' AND m.Name = g.GroupId`,
    )
    .raw()
    .all() as Array<[string, string | null, string | null, unknown]>;
  for (const [name, parent, policy, site] of groups) {
    const refs: ResourceRefs = { kind: 'DeviceGroup', name };
    if (typeof site === 'string') refs.site = site;
    if (parent) refs.parent = parent;
    if (policy) refs.policy = policy;
    out.push(refs);
  }
  const devices = db
    .prepare(
      `SELECT DeviceId, SiteId, GroupIds FROM Devices
       WHERE json_valid(GroupIds) AND json_array_length(GroupIds) > 0`,
    )
    .raw()
    .all() as Array<[string, string | null, string]>;
  for (const [name, site, groupIds] of devices) {
    const groups = (JSON.parse(groupIds) as unknown[]).filter((g): g is string => typeof g === 'string');
    out.push({ kind: 'Device', name, ...(site ? { site } : {}), groups });
  }
  return out;
}
