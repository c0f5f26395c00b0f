import type { Plan } from './plan.js';
import type { ResourceView } from './resource-view.js';

/**
 * The resources as they will be once `plan` is applied: the stored ones (every row, managed or not),
 * with each created or updated resource's desired state in place of its row and destroyed ones left
 * out. Stored rows the plan does not touch keep their lazily decoded fields.
 */
export function plannedState(plan: Plan, stored: Iterable<ResourceView>): ResourceView[] {
  const changed = new Map(plan.changes.map((c) => [`${c.kind}/${c.name}`, c]));
  const after: ResourceView[] = [];
  for (const view of stored) if (!changed.has(`${view.kind}/${view.name}`)) after.push(view);
  for (const change of plan.changes)
    if (change.action !== 'delete' && change.desired)
      after.push({ kind: change.kind, name: change.name, fields: change.desired });
  return after;
}
