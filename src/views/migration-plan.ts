import type { MigrationPlan, MigrationStep, StepAction } from '../formats/migration-step.js';
import { type Color, paint } from './color.js';

/** Output of `rmm db plan` and `rmm db apply`: one line per step, as Terraform and Atlas show a plan. */

export interface PlanContext {
  /** The database file, as given to the command. */
  database: string;
  /** The schema hash recorded in the database, or null. */
  fromHash: string | null;
  /** The declared schema's hash. */
  toHash: string;
}

/** The stable JSON shape (`--json`); bump formatVersion on any incompatible change. */
export interface PlanJson {
  formatVersion: 1;
  database: string;
  fromHash: string | null;
  toHash: string;
  steps: MigrationStep[];
  summary: { steps: number; destructive: number };
}

const marks: Record<StepAction, { mark: string; color: Color }> = {
  'create table': { mark: '+', color: 'green' },
  'add column': { mark: '+', color: 'green' },
  'create index': { mark: '+', color: 'green' },
  'create trigger': { mark: '+', color: 'green' },
  'insert seed row': { mark: '+', color: 'green' },
  'rebuild table': { mark: '~', color: 'yellow' },
  'record schema hash': { mark: '~', color: 'yellow' },
  'drop index': { mark: '-', color: 'red' },
  'drop trigger': { mark: '-', color: 'red' },
  'drop table': { mark: '-', color: 'red' },
};

/** `  + create table Policies`, `  - drop table Legacy  [destructive]`, with the SQL under each when asked. */
export function renderSteps(plan: MigrationPlan, options: { sql?: boolean; color: boolean }): string[] {
  const c = paint(options.color);
  const lines: string[] = [];
  for (const step of plan.steps) {
    const { mark, color } = marks[step.action];
    const flag = step.destructive ? `  ${c('red', '[destructive]')}` : '';
    lines.push(`  ${c(color, mark)} ${step.summary}${flag}`);
    if (options.sql) {
      for (const statement of step.sql)
        lines.push(...`${statement};`.split('\n').map((l) => c('dim', `      ${l}`)));
    }
  }
  return lines;
}

export function renderPlan(
  plan: MigrationPlan,
  schemaLabel: string,
  options: { sql?: boolean; color: boolean },
): string {
  if (plan.steps.length === 0) return `No changes. Database schema matches ${schemaLabel}.`;
  const destructive = plan.steps.filter((s) => s.destructive).length;
  const c = paint(options.color);
  const verdict = `Plan: ${count(plan.steps.length, 'step')}, ${destructive} destructive.`;
  return [...renderSteps(plan, options), '', destructive > 0 ? c('red', verdict) : verdict].join('\n');
}

export function planJson(plan: MigrationPlan, context: PlanContext): PlanJson {
  return {
    formatVersion: 1,
    database: context.database,
    fromHash: context.fromHash,
    toHash: context.toHash,
    steps: plan.steps,
    summary: { steps: plan.steps.length, destructive: plan.steps.filter((s) => s.destructive).length },
  };
}

/** `11 tables, 11 indexes, 8 triggers, 1 seed row (site main)`: what `rmm init` created, counted from the plan. */
export function describeCreation(plan: MigrationPlan): string {
  const stepsOf = (action: StepAction) => plan.steps.filter((s) => s.action === action);
  const seeds = stepsOf('insert seed row').map((s) => {
    const [table = '', ...key] = s.object.split('/');
    return `${singular(table)} ${key.join('/')}`;
  });
  return [
    count(stepsOf('create table').length, 'table'),
    count(stepsOf('create index').length, 'index', 'indexes'),
    ...(stepsOf('create trigger').length > 0 ? [count(stepsOf('create trigger').length, 'trigger')] : []),
    `${count(seeds.length, 'seed row')}${seeds.length > 0 ? ` (${seeds.join(', ')})` : ''}`,
  ].join(', ');
}

function count(n: number, word: string, plural = `${word}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : plural}`;
}

/** `Sites` -> `site`, `DeviceGroups` -> `device group`: a table name read as the thing one row is. */
function singular(table: string): string {
  return table
    .replace(/s$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
}
