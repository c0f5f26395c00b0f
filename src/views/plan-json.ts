import type { BlastRadius } from '../engine/blast-radius.js';
import type { FieldChange } from '../engine/field-diff.js';
import type { Action, Plan, ResourceChange } from '../engine/plan.js';
import { redactFieldChanges, redactFields } from '../engine/redact.js';
import type { MigrationStep } from '../formats/migration-step.js';
import type { UpcomingWindow } from '../maintenance/upcoming.js';
import type { Kind } from '../resources/kinds.js';
import { maintenanceJson } from './plan-maintenance.js';
import { type ReplayJson, type ReplayView, replayJson } from './plan-replay.js';

/**
 * The machine-readable forms of plan and apply (docs/cli.md). Each carries formatVersion; a change
 * that could break a reader bumps it. Sensitive values are masked here, as in the human plan.
 */
export const FORMAT_VERSION = 1;

/** `rmm plan --json`: one document. */
export interface PlanJson {
  formatVersion: typeof FORMAT_VERSION;
  revision: number;
  /** The apply set and the prune scope (files and folders, as recorded) this plan is for. */
  scope: Plan['scope'];
  changes: ResourceChange[];
  undeclared: Plan['undeclared'];
  /** Managed resources with no recorded apply set that nothing declares: never pruned. */
  unowned: number;
  summary: Plan['summary'];
  blastRadius: BlastRadius;
  /** Pending schema steps apply runs first, in the same transaction (empty when the schema is current). */
  migration: MigrationStep[];
  /** Maintenance windows starting or ending within 24 hours of the plan's time, in the planned state. */
  maintenance: ReturnType<typeof maintenanceJson>;
  /** The threshold replay of the monitors the plan adds or changes (views/plan-replay.ts); advice, never applied. */
  replay: ReplayJson;
}

export function planJson(
  plan: Plan,
  revision: number,
  radius: BlastRadius,
  migration: MigrationStep[] = [],
  maintenance: readonly UpcomingWindow[] = [],
  replay?: ReplayView,
): PlanJson {
  return {
    formatVersion: FORMAT_VERSION,
    revision,
    migration,
    scope: plan.scope,
    changes: plan.changes.map(redactChange),
    undeclared: plan.undeclared,
    unowned: plan.unowned,
    summary: plan.summary,
    blastRadius: radius,
    maintenance: maintenanceJson(maintenance),
    replay: replayJson(replay),
  };
}

/** A change as shown: its fields and its desired state masked. */
export function redactChange(change: ResourceChange): ResourceChange {
  const shown: ResourceChange = { ...change, fields: redactFieldChanges(change.kind, change.fields) };
  if (change.desired) shown.desired = redactFields(change.kind, change.desired);
  return shown;
}

/** `rmm apply --json` writes NDJSON: one ChangeEvent per change written, then one SummaryEvent. */
export interface ChangeEvent {
  type: 'change';
  formatVersion: typeof FORMAT_VERSION;
  action: Action;
  kind: Kind;
  name: string;
  fields: FieldChange[];
  drift: boolean;
  adopt: boolean;
  /** For a delete: the observed rows deleted with it, counted when planned. */
  dependents?: Array<{ table: string; rows: number }>;
}

export interface SummaryEvent {
  type: 'summary';
  formatVersion: typeof FORMAT_VERSION;
  /** False when there was nothing to do (then no change events precede it). */
  applied: boolean;
  added: number;
  changed: number;
  destroyed: number;
  /** The state revision after the apply (unchanged when nothing was applied). */
  revision: number;
  /** Schema steps run before the changes, in the same transaction. */
  migrated: number;
}

export function changeEvent(change: ResourceChange): ChangeEvent {
  return {
    type: 'change',
    formatVersion: FORMAT_VERSION,
    action: change.action,
    kind: change.kind,
    name: change.name,
    fields: redactFieldChanges(change.kind, change.fields),
    drift: change.drift ?? false,
    adopt: change.adopt ?? false,
    ...(change.dependents ? { dependents: change.dependents } : {}),
  };
}

export function summaryEvent(plan: Plan, applied: boolean, revision: number, migrated = 0): SummaryEvent {
  const { add, change, destroy } = plan.summary;
  return {
    type: 'summary',
    formatVersion: FORMAT_VERSION,
    applied,
    added: applied ? add : 0,
    changed: applied ? change : 0,
    destroyed: applied ? destroy : 0,
    revision,
    migrated: applied ? migrated : 0,
  };
}

/** The NDJSON lines of an apply that committed `plan`: its changes in plan order, then the summary. */
export function* appliedEvents(plan: Plan, revisionAfter: number, migrated = 0): Generator<string> {
  for (const change of plan.changes) yield JSON.stringify(changeEvent(change));
  yield JSON.stringify(summaryEvent(plan, true, revisionAfter, migrated));
}
