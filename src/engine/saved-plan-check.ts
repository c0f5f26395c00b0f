import { canonicalJson } from '../canonical-json.js';
import { ReferenceIndex, type ResourceRefs, refsOf } from '../resources/cross-references.js';
import { DEFAULT_SITE, type Kind } from '../resources/kinds.js';
import { validateResource } from '../resources/validate-resource.js';
import { inScope } from './apply-set.js';
import { danglingReferences } from './kept-references.js';
import {
  computePlan,
  type DesiredResource,
  type Plan,
  type ResourceChange,
  type StoredResource,
} from './plan.js';
import { redactFieldChanges } from './redact.js';
import { viewOf } from './resource-view.js';
import type { SavedPlan } from './saved-plan.js';
import { toResource } from './to-resource.js';

/**
 * A saved plan's changes derived again, the way `rmm plan` derives them: each create and update's
 * desired state passes the kind schemas and rules (no inline secret), the references between what
 * it declares and what the database holds resolve, and the plan computed from those desired states
 * and the stored rows is the one the file shows. Apply writes `plan`, never the file's changes, so
 * a plan shows exactly what it writes; any difference is a problem and nothing is written.
 */
export function rederiveSavedPlan(
  saved: SavedPlan,
  stored: readonly StoredResource[],
  storedRefs: readonly ResourceRefs[],
): { plan: Plan; problems: string[] } {
  const problems: string[] = [];
  const seen = new Set<string>();
  const wants: DesiredResource[] = [];
  const wantRefs: ResourceRefs[] = [];
  const deletes = new Set<string>();
  for (const change of saved.changes) {
    const key = `${change.kind}/${change.name}`;
    if (seen.has(key)) problems.push(`${key}: changed twice`);
    seen.add(key);
    if (change.action === 'delete') {
      deletes.add(key);
      continue;
    }
    const check = validateResource(
      toResource({ kind: change.kind, name: change.name, fields: change.desired ?? {} }),
    );
    for (const p of check.problems)
      if (p.severity !== 'warning')
        problems.push(`${key}: ${p.path.join('.') || '(document)'}: ${p.message}`);
    if (!check.resource) continue;
    const view = viewOf(check.resource);
    wants.push({ ...view, ...(change.source !== undefined ? { source: change.source } : {}) });
    wantRefs.push(refsOf(check.resource));
  }

  // References, as plan checks them: against what this plan declares and what the database holds.
  const index = new ReferenceIndex<string>((ref) => ref, storedRefs);
  for (const refs of wantRefs) index.add({ ...refs }, `${refs.kind}/${refs.name}`);
  for (const p of index.check()) problems.push(`${p.ref}: ${p.message}`);

  // The plan from those desired states and the rows they touch; it must be the one the file shows.
  const byKey = new Map(stored.map((s) => [`${s.kind}/${s.name}`, s]));
  const touched = [...seen].map((k) => byKey.get(k)).filter((s): s is StoredResource => s !== undefined);
  const plan = computePlan(wants, touched, {
    prune: saved.prune,
    scope: saved.scope,
    takeOver: saved.takeOver,
  });
  for (const c of plan.conflicts)
    problems.push(
      `${c.kind}/${c.name}: owned by apply set "${c.owner.set}" and the plan was not made with --take-over`,
    );
  const derived = new Map(plan.changes.map((c) => [`${c.kind}/${c.name}`, c]));
  for (const change of saved.changes) {
    const key = `${change.kind}/${change.name}`;
    const again = derived.get(key);
    if (!again) {
      problems.push(
        `${key}: ${change.action === 'delete' ? whyNotDeleted(byKey.get(key), saved) : `is not a change from what the database holds`}`,
      );
      continue;
    }
    const difference = differenceOf(change, again);
    if (difference) problems.push(`${key}: ${difference}`);
  }
  for (const [key, change] of derived)
    if (!seen.has(key)) problems.push(`${key}: would be ${change.action}d, which the plan does not show`);
  for (const d of danglingReferences(plan, storedRefs, () => wantRefs))
    problems.push(
      `${d.target.kind}/${d.target.name}: destroyed while ${d.referrer.kind}/${d.referrer.name} still refers to it`,
    );
  return { plan: { ...plan, undeclared: saved.undeclared ?? [] }, problems };
}

/** Why a delete in the file is not one `rmm plan --prune` would make. */
function whyNotDeleted(have: StoredResource | undefined, saved: SavedPlan): string {
  if (!have) return 'is not in the database';
  if (have.kind === 'Site' && have.name === DEFAULT_SITE)
    return 'is the default site, which rmm never destroys';
  if (!have.managed) return 'was not created by rmm, which never destroys such rows';
  if (!saved.prune) return 'would be destroyed, but the plan was not made with --prune';
  const owner = have.owner;
  if (owner?.set !== saved.scope.set)
    return `is owned by apply set ${JSON.stringify(owner?.set ?? null)}, not "${saved.scope.set}"`;
  if (owner.source === null || !inScope(saved.scope.prune, owner.source))
    return `was declared by ${owner.source ?? 'an unrecorded file'}, outside the plan's prune scope`;
  return 'would not be destroyed';
}

/** How the change the file shows differs from the one derived, or undefined when they agree. */
function differenceOf(shown: ResourceChange, derived: ResourceChange): string | undefined {
  if (shown.action !== derived.action)
    return `the file shows ${shown.action}, the database calls for ${derived.action}`;
  // By content: the file's values and the derived ones may hold the same maps filled in other orders.
  const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);
  if (!same(shown.fields, redactFieldChanges(derived.kind as Kind, derived.fields)))
    return shown.action === 'delete'
      ? 'the fields shown are not the ones it holds'
      : 'the fields shown are not what its desired state changes';
  if (!same(shown.source, derived.source) || !same(shown.previousOwner, derived.previousOwner))
    return 'the owner shown is not the one recorded';
  if (Boolean(shown.adopt) !== Boolean(derived.adopt) || Boolean(shown.drift) !== Boolean(derived.drift))
    return 'the adopt or drift mark shown does not hold';
  return undefined;
}
