import { describeScope } from '../engine/apply-set.js';
import type { BlastRadius } from '../engine/blast-radius.js';
import type { FieldChange } from '../engine/field-diff.js';
import type { Plan, ResourceChange } from '../engine/plan.js';
import { redactFieldChanges, SENSITIVE } from '../engine/redact.js';
import type { FieldValue } from '../engine/resource-view.js';
import type { MigrationStep } from '../formats/migration-step.js';
import type { UpcomingWindow } from '../maintenance/upcoming.js';
import { printable } from '../printable.js';
import { paint } from './color.js';
import { renderSteps } from './migration-plan.js';
import { maintenanceLines } from './plan-maintenance.js';
import { relayMoveLines } from './plan-relays.js';
import { type ReplayView, replayLines } from './plan-replay.js';
import { changeSummaryLines, isSummarised, LIST_AT_MOST, undeclaredSummaryLines } from './plan-summary.js';

const SIGN = { create: '+', update: '~', delete: '-' } as const;
const COLOR = { create: 'green', update: 'yellow', delete: 'red' } as const;

/**
 * The human plan: the pending schema steps apply runs first, then one block per resource with its
 * changed fields (sensitive ones masked), the devices affected when the blast radius is known (and
 * those whose route moves to or from a relay), the
 * maintenance windows starting or ending within a day when given, and the summary line. Lines are
 * produced one by one, so a large plan is written as it is rendered. Unless `full`, a plan of more
 * than LIST_AT_MOST changes is counted per kind and site instead of listed (views/plan-summary.ts).
 */
export function* planLines(
  plan: Plan,
  color: boolean,
  radius?: BlastRadius,
  migration: readonly MigrationStep[] = [],
  maintenance?: { upcoming: readonly UpcomingWindow[]; now: number },
  replay?: ReplayView,
  full = false,
): Generator<string> {
  const c = paint(color);
  const empty = plan.changes.length === 0 && migration.length === 0;
  if (migration.length > 0) {
    yield `Database schema: ${migration.length} pending step${migration.length === 1 ? '' : 's'}, run first by rmm apply in the same transaction:`;
    yield* renderSteps({ steps: [...migration], destructive: false, needsForeignKeysOff: false }, { color });
    yield '';
  }
  if (plan.changes.length > 0 || plan.undeclared.length > 0 || plan.unowned > 0)
    yield c(
      'dim',
      printable(`Apply set "${plan.scope.set}"; prune scope: ${describeScope(plan.scope.prune)}`),
    );
  yield* isSummarised(plan, full) ? changeSummaryLines(plan, c) : changeLines(plan, c);
  if (plan.undeclared.length > 0) {
    yield '';
    yield 'No longer declared (kept; apply with --prune to destroy):';
    if (!full && plan.undeclared.length > LIST_AT_MOST) yield* undeclaredSummaryLines(plan);
    else for (const u of plan.undeclared) yield `  ${printable(`${u.kind}/${u.name}`)}`;
  }
  if (plan.unowned > 0) {
    yield '';
    yield `${plan.unowned} managed resource${plan.unowned === 1 ? '' : 's'} applied before rmm recorded apply sets ${plan.unowned === 1 ? 'is' : 'are'} not declared here and never pruned; apply ${plan.unowned === 1 ? 'its' : 'their'} files once to record an owner (docs/apply-sets.md).`;
  }
  if (radius && radius.site + radius.groups + radius.policy + (radius.monitors ?? 0) > 0) {
    yield '';
    yield `Devices affected: ${radius.site} change site, ${radius.groups} change groups, ${radius.policy} change effective policy${monitorsNote(radius.monitors)}.`;
  }
  if (radius?.relays) yield* relayMoveLines(radius.relays);
  if (maintenance) yield* maintenanceLines(maintenance.upcoming, maintenance.now);
  if (replay) yield* replayLines(replay, c);
  if (empty) {
    if (maintenance?.upcoming.length) yield '';
    yield 'No changes. The database matches the declared resources.';
  } else {
    const { add, change, destroy } = plan.summary;
    yield '';
    yield `Plan: ${add} to add, ${change} to change, ${destroy} to destroy.`;
  }
}

/** Each change with its fields (sensitive ones masked). */
function* changeLines(plan: Plan, c: ReturnType<typeof paint>): Generator<string> {
  for (const change of plan.changes) {
    yield c(COLOR[change.action], `  ${SIGN[change.action]} ${printable(`${change.kind}/${change.name}`)}`) +
      noteOf(change, plan.scope.set, c);
    for (const field of redactFieldChanges(change.kind, change.fields)) {
      // A new or removed resource lists what it holds; its unset fields would only be noise.
      if (change.action !== 'update' && isUnset(change.action === 'create' ? field.after : field.before))
        continue;
      yield `      ${renderField(field, change.action)}`;
    }
  }
}

export function renderPlan(
  plan: Plan,
  color: boolean,
  radius?: BlastRadius,
  migration: readonly MigrationStep[] = [],
): string {
  return [...planLines(plan, color, radius, migration)].join('\n');
}

/** How many existing devices' effective monitors change, when it was counted. */
function monitorsNote(monitors: number | undefined): string {
  if (monitors === undefined) return '';
  return `; ${monitors} device${monitors === 1 ? "'s" : "s'"} effective monitors change`;
}

function noteOf(change: ResourceChange, set: string, c: ReturnType<typeof paint>): string {
  const owner = ownerNote(change, set);
  if (owner) return c('cyan', printable(owner));
  if (change.adopt) return c('dim', ' (adopt: an existing row rmm did not create)');
  if (change.drift)
    return c(
      'magenta',
      ' (drift: changed outside rmm since the last apply; this puts back the declared value)',
    );
  if (change.dependents?.length) {
    const rows = change.dependents.map((d) => `${d.rows} ${d.table} row${d.rows === 1 ? '' : 's'}`);
    return c('red', printable(` (its observed history goes with it: ${rows.join(', ')})`));
  }
  return '';
}

/** What an update does to the resource's owner: records one, moves it between files, or takes it over. */
function ownerNote(change: ResourceChange, set: string): string {
  const owner = change.previousOwner;
  if (!owner) return '';
  const drift = change.drift ? '; also drift: changed outside rmm since the last apply' : '';
  if (owner.set === null) return ` (owner recorded: ${change.source}, set "${set}"${drift})`;
  if (owner.set === set) return ` (moves from ${owner.source} to ${change.source}${drift})`;
  return ` (taken over from apply set "${owner.set}", ${owner.source}${drift})`;
}

/** Keys and values come from YAML and the database: escaped, so each field stays on its line. */
function renderField(field: FieldChange, action: 'create' | 'update' | 'delete'): string {
  const path = printable(
    field.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join(''),
  );
  if (action === 'create') return `${path}: ${show(field.after)}`;
  if (action === 'delete') return `${path}: ${show(field.before)}`;
  return `${path}: ${show(field.before)} -> ${show(field.after)}`;
}

function isUnset(value: FieldValue | undefined): boolean {
  return (
    value === undefined ||
    value === null ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)
  );
}

function show(value: FieldValue | undefined): string {
  if (value === SENSITIVE) return SENSITIVE;
  return value === undefined ? '(none)' : printable(JSON.stringify(value));
}
