import type { FieldChange } from '../engine/field-diff.js';
import { blastRadius, type Plan } from '../engine/plan.js';
import type { FieldValue } from '../engine/resource-view.js';
import { paint } from './color.js';

const SIGN = { create: '+', update: '~', delete: '-' } as const;
const COLOR = { create: 'green', update: 'yellow', delete: 'red' } as const;

/** The human plan: one block per resource, its changed fields, then the summary line. */
export function renderPlan(plan: Plan, color: boolean): string {
  const c = paint(color);
  const lines: string[] = [];
  for (const change of plan.changes) {
    const note = change.adopt
      ? c('dim', ' (adopt: an existing row rmm did not create)')
      : change.drift
        ? c(
            'magenta',
            ' (drift: changed outside rmm since the last apply; this puts back the declared value)',
          )
        : '';
    lines.push(c(COLOR[change.action], `  ${SIGN[change.action]} ${change.kind}/${change.name}`) + note);
    for (const field of change.fields) {
      // A new or removed resource lists what it holds; its unset fields would only be noise.
      if (change.action !== 'update' && isUnset(change.action === 'create' ? field.after : field.before))
        continue;
      lines.push(`      ${renderField(field, change.action)}`);
    }
  }
  if (plan.undeclared.length > 0) {
    lines.push('', 'No longer declared (kept; apply with --prune to destroy):');
    for (const u of plan.undeclared) lines.push(`  ${u.kind}/${u.name}`);
  }
  const radius = blastRadius(plan);
  if (radius.site + radius.groups > 0) {
    lines.push('', `Devices moving: ${radius.site} change site, ${radius.groups} change groups.`);
  }
  if (plan.changes.length === 0) {
    lines.push('No changes. The database matches the declared resources.');
  } else {
    const { add, change, destroy } = plan.summary;
    lines.push('', `Plan: ${add} to add, ${change} to change, ${destroy} to destroy.`);
  }
  return lines.join('\n');
}

function renderField(field: FieldChange, action: 'create' | 'update' | 'delete'): string {
  const path = field.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
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
  return value === undefined ? '(none)' : JSON.stringify(value);
}
