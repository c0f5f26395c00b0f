import type { StoredResource } from '../engine/plan.js';
import { KIND_TABLES } from '../formats/kind-tables.js';
import { KINDS, type Kind } from '../resources/kinds.js';
import type { Db } from './connection.js';
import { StoredRow } from './resource-store.js';

/**
 * The stored rows an incremental plan compares (`compared`), as readStoredResources reads them and in the same
 * order (kinds in order, each table in rowid order, so lists such as the undeclared are the same):
 * the rows the read files declare, and every managed row that might be pruned or counted as unowned,
 * which is any managed row of the set not owned by an unread file, and any without a set or file.
 * Rows owned by unread files are left out: their files' manifests say the plan has nothing for them.
 * `near` adds every row of the kinds other than Device (a few thousand at most): what a plan's
 * monitor section reads of sites, groups and policies. Only `compared` is planned against: a row of an
 * unread file there would read as no longer declared.
 */
export function readStoredSubset(
  db: Db,
  options: {
    declared: ReadonlyArray<{ kind: Kind; name: string }>;
    applySet: string;
    unread: readonly string[];
  },
): { compared: StoredResource[]; near: StoredResource[] } {
  const wanted = new Map<Kind, Set<string>>(KINDS.map((k) => [k, new Set()]));
  for (const { kind, name } of options.declared) wanted.get(kind)?.add(name);
  const candidates = db
    .prepare(
      `SELECT Kind, Name FROM ManagedResources
       WHERE ApplySet IS NULL OR SourceFile IS NULL
         OR (ApplySet = ? AND SourceFile NOT IN (SELECT value FROM json_each(?)))`,
    )
    .raw()
    .all(options.applySet, JSON.stringify(options.unread)) as Array<[string, string]>;
  for (const [kind, name] of candidates) wanted.get(kind as Kind)?.add(name);
  const compared: StoredResource[] = [];
  const near: StoredResource[] = [];
  for (const kind of KINDS) {
    const spec = KIND_TABLES[kind];
    const columns = Object.values(spec.columns).map((c) => `t."${c}"`);
    const select = `SELECT t.rowid, t."${spec.key}", json_array(${columns.join(', ')}, m.Labels, m.Settings),
         m.AppliedHash, m.Kind IS NOT NULL, m.ApplySet, m.SourceFile
       FROM "${spec.table}" t LEFT JOIN ManagedResources m ON m.Kind = ? AND m.Name = t."${spec.key}"`;
    const rows = (
      kind === 'Device'
        ? db
            .prepare(`${select} WHERE t."${spec.key}" IN (SELECT value FROM json_each(?))`)
            .raw()
            .all(kind, JSON.stringify([...(wanted.get(kind) ?? [])]))
        : db.prepare(select).raw().all(kind)
    ) as Array<[number, string, string, string | null, number, string | null, string | null]>;
    rows.sort((a, b) => a[0] - b[0]);
    for (const [, name, image, appliedHash, managed, set, source] of rows) {
      const owner = managed === 1 ? { set, source } : undefined;
      const row = new StoredRow(kind, String(name), image, managed === 1, appliedHash, owner);
      near.push(row);
      if (wanted.get(kind)?.has(String(name))) compared.push(row);
    }
  }
  return { compared, near };
}

/**
 * Whether any stored resource holds a maintenance window (ManagedResources.Settings.maintenance, the
 * only place windows live): without any, and with none in a plan, the plan lists no upcoming window
 * and need not read every device.
 */
export function storedWindowsExist(db: Db): boolean {
  return (
    db
      .prepare(
        `SELECT 1 FROM ManagedResources WHERE json_valid(Settings)
           AND json_type(Settings, '$.maintenance') = 'array' AND json_array_length(Settings, '$.maintenance') > 0
         LIMIT 1`,
      )
      .get() !== undefined
  );
}

/**
 * The distinct transport blocks of the set's stored devices with their site, the sites' defaults and
 * the relays' connections: what the plugins' own checks (machine-dependent, never cached) read. An
 * incremental plan runs those checks on them, a superset of the blocks of the files it leaves unread.
 */
export function storedTransportBlocks(
  db: Db,
  applySet: string,
): {
  devices: Array<{ site: string | null; block: Record<string, unknown> }>;
  relays: Array<Record<string, unknown>>;
} {
  const devices = (
    db
      .prepare(
        `SELECT DISTINCT d.SiteId, json_extract(m.Settings, '$.transport')
         FROM ManagedResources m JOIN Devices d ON d.DeviceId = m.Name
         WHERE m.Kind = 'Device' AND m.ApplySet = ? AND json_valid(m.Settings)
           AND json_type(m.Settings, '$.transport') = 'object'`,
      )
      .raw()
      .all(applySet) as Array<[string | null, string]>
  ).map(([site, block]) => ({ site, block: JSON.parse(block) as Record<string, unknown> }));
  const hasRelays = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'Relays'`).get();
  const relays = hasRelays
    ? (db.prepare('SELECT Nats FROM Relays WHERE json_valid(Nats)').pluck().all() as string[]).map(
        (nats) => JSON.parse(nats) as Record<string, unknown>,
      )
    : [];
  return { devices, relays };
}
