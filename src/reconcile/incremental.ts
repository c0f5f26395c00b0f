import { createHash } from 'node:crypto';
import { cacheSalt } from '../cache-salt.js';
import { type ApplyScope, inScope } from '../engine/apply-set.js';
import type { ResourceRefs } from '../resources/cross-references.js';
import { DEFAULT_SITE, type Kind } from '../resources/kinds.js';
import { pluginOptionProblems, type TransportSchemas } from '../resources/transport-options.js';
import type { Db } from '../state/connection.js';
import { type ManifestState, unchangedSince } from '../state/source-manifests.js';
import { storedTransportBlocks } from '../state/stored-subset.js';
import { transportSalt, type ValidationResult } from '../validate.js';

/**
 * The incremental plan's decisions (docs/Architecture.md#incremental-plans), apart from the I/O:
 * which files may stay unread, and whether what was read allows the short way at all. Whenever a
 * condition fails the caller plans in full, so the short way only ever gives the full plan's result.
 */

/** What a file's check results, and so the resources it declares, depend on: its text and the check salt. */
export function contentKeyer(checks: TransportSchemas | undefined): (text: string) => string {
  const salt = `rmm-manifest 1\0${cacheSalt()}\0${transportSalt(checks)}\0`;
  return (text) => createHash('sha256').update(salt).update(text).digest('hex');
}

/** The files read and left unread by one incremental check, by source key, with each read file's key. */
export class FileSelection {
  readonly keys = new Map<string, string>();
  readonly unread = new Set<string>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly state: ManifestState,
    private readonly keyOfFile: (file: string) => string,
    private readonly keyOfText: (text: string) => string,
    /** False: every file is read, and only its key kept (a full plan whose apply writes manifests). */
    private readonly readLess: boolean,
  ) {}

  /** For validateInputs' skipFile: true leaves the file unread. */
  readonly skip = (file: string, text: string): boolean => {
    const source = this.keyOfFile(file);
    const key = this.keyOfText(text);
    // A file named twice is read each time: the checks must see its declarations twice.
    const twice = this.seen.has(source);
    this.seen.add(source);
    if (this.readLess && !twice && unchangedSince(this.state, source, key)) {
      this.unread.add(source);
      return true;
    }
    this.keys.set(source, key);
    return false;
  };
}

/**
 * Why the short way does not hold for this check, or undefined when it does: a problem found (the full
 * check words it as it always has), a read file declaring something other than devices (sites,
 * groups and policies reach into every file's checks), a declared resource the set holds through a
 * file left unread (a duplicate or a move), a resource to prune that is not a device, or a finding of
 * the plugins' own checks on any stored block of the set (they depend on the machine, so they run on
 * every plan).
 */
export function whyFull(
  db: Db,
  validation: ValidationResult,
  selection: FileSelection,
  scope: ApplyScope,
  siteBlocks: readonly ResourceRefs[],
): string | undefined {
  if (validation.diagnostics.length > 0) return 'problems found';
  const declared: Array<[Kind, string]> = [];
  for (const r of validation.resources) {
    if (r.kind !== 'Device') return `a read file declares a ${r.kind}`;
    declared.push([r.kind, r.name]);
  }
  const unread = JSON.stringify([...selection.unread]);
  const heldElsewhere = db
    .prepare(
      `SELECT 1 FROM ManagedResources WHERE ApplySet = ? AND Kind = 'Device'
         AND Name IN (SELECT value FROM json_each(?)) AND SourceFile IN (SELECT value FROM json_each(?)) LIMIT 1`,
    )
    .get(scope.set, JSON.stringify(declared.map(([, name]) => name)), unread);
  if (heldElsewhere) return 'a declared resource is held through an unread file';
  const others = db
    .prepare(
      `SELECT SourceFile FROM ManagedResources WHERE ApplySet = ? AND Kind != 'Device' AND SourceFile IS NOT NULL
         AND SourceFile NOT IN (SELECT value FROM json_each(?))`,
    )
    .pluck()
    .all(scope.set, unread) as string[];
  if (others.some((source) => inScope(scope.prune, source))) return 'a resource to prune is not a device';
  const sites = new Map(siteBlocks.filter((r) => r.kind === 'Site').map((r) => [r.name, r.transportBlock]));
  for (const block of sites.values())
    if (block && pluginOptionProblems('Site', block).length > 0) return 'a plugin check finds a site default';
  const blocks = storedTransportBlocks(db, scope.set);
  for (const { site, block } of blocks.devices)
    if (pluginOptionProblems('Device', block, sites.get(site ?? DEFAULT_SITE)).length > 0)
      return 'a plugin check finds a device block';
  for (const nats of blocks.relays)
    if (pluginOptionProblems('Relay', nats).length > 0) return 'a plugin check finds a relay';
  return undefined;
}
