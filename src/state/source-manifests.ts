import type { Kind } from '../resources/kinds.js';
import type { Db } from './connection.js';

/**
 * What each source file last applied (SourceManifests), and which resources were edited outside rmm
 * since (ResourceEdits, filled by the triggers declared in schemas/database.yaml): what an incremental
 * plan needs to know that a file may be left unread. docs/Architecture.md#incremental-plans.
 */
export interface ManifestState {
  /** The apply set's manifests: file (its source key) -> content key and the count of resources it declared. */
  manifests: Map<string, { key: string; resources: number }>;
  /** Managed rows of the set per source file, as ManagedResources holds them now. */
  owned: Map<string, number>;
  /** Source files of the set that own a resource marked as edited outside rmm. */
  edited: Set<string>;
  /** The newest mark when this was read: apply removes only marks up to it. */
  editSeq: number;
}

/** The RmmMeta key apply holds inside its transaction, so the triggers mark nothing it writes. */
export const RMM_WRITING_KEY = 'edits_by_rmm';

/** Undefined when the database has not got the tables yet (its pending migration creates them). */
export function readManifestState(db: Db, applySet: string): ManifestState | undefined {
  const tables = db
    .prepare(
      `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('SourceManifests', 'ResourceEdits')`,
    )
    .pluck()
    .get() as number;
  if (tables !== 2) return undefined;
  const manifests = new Map<string, { key: string; resources: number }>();
  const rows = db
    .prepare(
      `SELECT SourceFile, ContentKey, CASE WHEN json_valid(Resources) THEN json_array_length(Resources) ELSE -1 END
       FROM SourceManifests WHERE ApplySet = ?`,
    )
    .raw()
    .all(applySet) as Array<[string, string, number]>;
  for (const [file, key, resources] of rows) manifests.set(file, { key, resources });
  const owned = new Map<string, number>();
  const counts = db
    .prepare(
      `SELECT SourceFile, count(*) FROM ManagedResources WHERE ApplySet = ? AND SourceFile IS NOT NULL GROUP BY SourceFile`,
    )
    .raw()
    .all(applySet) as Array<[string, number]>;
  for (const [file, count] of counts) owned.set(file, count);
  const edited = new Set(
    db
      .prepare(
        `SELECT DISTINCT m.SourceFile FROM ResourceEdits e
         JOIN ManagedResources m ON m.Kind = e.Kind AND m.Name = e.Name
         WHERE m.ApplySet = ? AND m.SourceFile IS NOT NULL`,
      )
      .pluck()
      .all(applySet) as string[],
  );
  const editSeq =
    (db.prepare('SELECT coalesce(max(Seq), 0) FROM ResourceEdits').pluck().get() as number) ?? 0;
  return { manifests, owned, edited, editSeq };
}

/**
 * Whether a file may be left unread: its manifest holds this content key, none of its resources was
 * edited outside rmm, and the set still owns exactly as many rows through it as it declared (a
 * managed row deleted, added or moved to another file behind rmm's back shows there).
 */
export function unchangedSince(state: ManifestState, file: string, key: string): boolean {
  const manifest = state.manifests.get(file);
  return (
    manifest !== undefined &&
    manifest.key === key &&
    !state.edited.has(file) &&
    (state.owned.get(file) ?? 0) === manifest.resources
  );
}

/** What apply -f records about the files it read, in its own transaction. */
export interface ManifestUpdate {
  applySet: string;
  /** The files read and checked clean: their new manifests. */
  files: Array<{ file: string; key: string; resources: Array<[Kind, string]> }>;
  /** Files whose manifest no longer holds (read with problems, or a resource moved away from them). */
  forget: Array<{ applySet: string; file: string }>;
  /** The resources the plan compared with their rows: their marks up to editSeq are settled. */
  compared: Array<[Kind, string]>;
  editSeq: number;
}

/** Apply's writes, with the triggers told to stay quiet (the key is gone again before COMMIT). */
export function writingAsRmm<T>(db: Db, write: () => T): T {
  const hasMeta = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'RmmMeta'`).get();
  if (!hasMeta) return write();
  db.prepare(`INSERT OR REPLACE INTO RmmMeta (Key, Value) VALUES (?, '1')`).run(RMM_WRITING_KEY);
  const result = write();
  db.prepare('DELETE FROM RmmMeta WHERE Key = ?').run(RMM_WRITING_KEY);
  return result;
}

export function writeManifests(db: Db, update: ManifestUpdate): void {
  const forget = db.prepare('DELETE FROM SourceManifests WHERE ApplySet = ? AND SourceFile = ?');
  for (const { applySet, file } of update.forget) forget.run(applySet, file);
  const upsert = db.prepare(
    `INSERT INTO SourceManifests (ApplySet, SourceFile, ContentKey, Resources, AppliedAt)
     VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)
     ON CONFLICT (ApplySet, SourceFile) DO UPDATE SET ContentKey = excluded.ContentKey,
       Resources = excluded.Resources, AppliedAt = CURRENT_TIMESTAMP`,
  );
  for (const { file, key, resources } of update.files)
    upsert.run(update.applySet, file, key, JSON.stringify(resources));
  // No mark was there to settle when the plan was made (a cold apply's 100,000 names need no walk).
  if (update.editSeq === 0) return;
  const byKind = new Map<Kind, string[]>();
  for (const [kind, name] of update.compared) {
    let names = byKind.get(kind);
    if (!names) {
      names = [];
      byKind.set(kind, names);
    }
    names.push(name);
  }
  const settle = db.prepare(
    'DELETE FROM ResourceEdits WHERE Seq <= ? AND Kind = ? AND Name IN (SELECT value FROM json_each(?))',
  );
  for (const [kind, names] of byKind) settle.run(update.editSeq, kind, JSON.stringify(names));
}
