import type { Plan, ResourceChange } from '../engine/plan.js';
import { printable } from '../printable.js';
import type { paint } from './color.js';

/**
 * A plan too large to read change by change, counted instead: per action and kind, then per site.
 * 100,000 creates listed field by field were 43 MB of text, which nobody reviews on a terminal
 * and which cost apply seconds to print. `--full` lists every change; `--json` and a saved plan
 * (`--out`) always hold every one (docs/cli.md#large-plans).
 */
export const LIST_AT_MOST = 500;
/** Sites shown per action and kind, most changes first; the rest are counted in one line. */
const SITES_SHOWN = 20;

const SIGN = { create: '+', update: '~', delete: '-' } as const;
const COLOR = { create: 'green', update: 'yellow', delete: 'red' } as const;
const ACTIONS = ['create', 'update', 'delete'] as const;

export function isSummarised(plan: Plan, full: boolean): boolean {
  return !full && plan.changes.length > LIST_AT_MOST;
}

export function* changeSummaryLines(plan: Plan, c: ReturnType<typeof paint>): Generator<string> {
  yield `${count(plan.changes.length)} changes, counted per kind and site (more than ${count(LIST_AT_MOST)}: --full lists each; --json and --out always hold every change):`;
  const groups = new Map<string, { change: ResourceChange; sites: Map<string, number>; total: number }>();
  for (const change of plan.changes) {
    const key = `${ACTIONS.indexOf(change.action)}\u0000${change.kind}`;
    let group = groups.get(key);
    if (!group) {
      group = { change, sites: new Map(), total: 0 };
      groups.set(key, group);
    }
    group.total++;
    const site = siteOf(change);
    if (site !== undefined) group.sites.set(site, (group.sites.get(site) ?? 0) + 1);
  }
  for (const key of [...groups.keys()].sort()) {
    const { change, sites, total } = groups.get(key) as NonNullable<ReturnType<typeof groups.get>>;
    yield c(
      COLOR[change.action],
      `  ${SIGN[change.action]} ${change.action} ${change.kind}: ${count(total)}`,
    );
    const bySize = [...sites].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
    for (const [site, n] of bySize.slice(0, SITES_SHOWN)) yield `      site ${printable(site)}: ${count(n)}`;
    const rest = bySize.slice(SITES_SHOWN);
    if (rest.length > 0)
      yield `      ${count(rest.length)} more sites: ${count(rest.reduce((sum, [, n]) => sum + n, 0))}`;
    const siteless = total - [...sites.values()].reduce((sum, n) => sum + n, 0);
    if (siteless > 0 && sites.size > 0) yield `      no site: ${count(siteless)}`;
  }
  const notes = notesOf(plan);
  if (notes.length > 0) yield c('magenta', `  of which: ${notes.join(', ')}`);
}

/** The undeclared list, counted per kind when it is too long to read. */
export function* undeclaredSummaryLines(plan: Plan): Generator<string> {
  const byKind = new Map<string, number>();
  for (const u of plan.undeclared) byKind.set(u.kind, (byKind.get(u.kind) ?? 0) + 1);
  for (const [kind, n] of [...byKind].sort(([a], [b]) => (a < b ? -1 : 1))) yield `  ${kind}: ${count(n)}`;
  yield '  (--full lists each one)';
}

/** The site a change is in: a device's or group's site as declared (or as stored, for a delete). */
function siteOf(change: ResourceChange): string | undefined {
  if (change.kind !== 'Device' && change.kind !== 'DeviceGroup') return undefined;
  const site =
    change.desired?.site ?? change.fields.find((f) => f.path.length === 1 && f.path[0] === 'site')?.before;
  return typeof site === 'string' ? site : undefined;
}

/** What a reviewer must not miss in a counted plan: the marks the full list shows on each change. */
function notesOf(plan: Plan): string[] {
  const tally = { adopt: 0, drift: 0, owner: 0, takenOver: 0, history: 0 };
  for (const change of plan.changes) {
    if (change.adopt) tally.adopt++;
    if (change.drift) tally.drift++;
    const before = change.previousOwner;
    if (before && before.set !== null && before.set !== plan.scope.set) tally.takenOver++;
    else if (before) tally.owner++;
    if (change.dependents?.length) tally.history++;
  }
  const notes: Array<[number, string]> = [
    [tally.adopt, 'adopt existing rows rmm did not create'],
    [tally.drift, 'put back values changed outside rmm (drift)'],
    [tally.takenOver, 'are taken over from another apply set'],
    [tally.owner, 'record or move their owner file'],
    [tally.history, 'destroy rows with observed history'],
  ];
  return notes.filter(([n]) => n > 0).map(([n, text]) => `${count(n)} ${text}`);
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}
