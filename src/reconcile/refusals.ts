import type { Plan } from '../engine/plan.js';
import { RmmError } from '../errors.js';

/**
 * A declared resource that another apply set owns is neither changed nor taken over silently: the
 * plan is refused, naming the owner, unless --take-over was given (docs/apply-sets.md).
 */
export function checkOwnership(plan: Plan): void {
  if (plan.conflicts.length === 0) return;
  const n = plan.conflicts.length;
  throw new RmmError(
    'ownership-conflict',
    `${n} declared resource${n === 1 ? ' is' : 's are'} owned by another apply set; nothing was changed`,
    {
      details: [
        ...plan.conflicts
          .slice(0, 20)
          .map((c) => `- ${c.kind}/${c.name}: owned by apply set "${c.owner.set}" (from ${c.owner.source})`),
        ...(n > 20 ? [`- and ${n - 20} more`] : []),
        `this input applies as set "${plan.scope.set}"; remove these from it, apply it as their set with --apply-set, or move them to this set with --take-over`,
      ],
    },
  );
}

/** --max-destroy: refuse a plan that destroys more, before anything is written. */
export function checkDestroyLimit(plan: Plan, max: number | undefined): void {
  if (max === undefined || plan.summary.destroy <= max) return;
  throw new RmmError(
    'destroy-limit',
    `the plan destroys ${plan.summary.destroy} resources, more than --max-destroy ${max} allows; nothing was changed`,
    {
      details: plan.changes
        .filter((c) => c.action === 'delete')
        .slice(0, 20)
        .map((c) => `- ${c.kind}/${c.name}`),
    },
  );
}
