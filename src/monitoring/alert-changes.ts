import { isBusy } from '../actions/busy.js';
import { RmmError } from '../errors.js';
import type { Db } from '../state/connection.js';
import { alertMatchProblem, matchAlerts } from './alert-queries.js';
import { type AlertChange, alertStore } from './alert-store.js';

/**
 * An operator's change to alerts (`rmm alerts ack|snooze|resolve ID...`): each id, or a unique
 * start of one, is found first; one that names no alert, several, or a resolved alert refuses the
 * whole command with every problem named, and nothing changes (the store checks again inside its
 * one transaction, so an alert resolved meanwhile refuses it too).
 */
export interface ChangedAlert {
  id: string;
  device: string;
  title: string;
  /** `unchanged`: it already was so (acknowledged before, snoozed to the same time). */
  outcome: 'changed' | 'unchanged';
}

const VERB: Record<AlertChange['kind'], string> = {
  acknowledge: 'acknowledged',
  snooze: 'snoozed',
  resolve: 'resolved',
};

export function changeAlerts(
  db: Db,
  ids: readonly string[],
  change: AlertChange,
  now: () => number,
): ChangedAlert[] {
  const problems: string[] = [];
  const found = new Map<string, { device: string; title: string }>();
  for (const id of ids) {
    const matches = matchAlerts(db, id);
    const problem = alertMatchProblem(id, matches);
    const alert = matches[0];
    if (problem || !alert) problems.push(problem ?? `no alert ${JSON.stringify(id)}`);
    else if (alert.resolvedAt !== null)
      problems.push(
        `alert ${alert.id} (${alert.title}) was resolved at ${alert.resolvedAt} UTC; only open alerts can be ${VERB[change.kind]}`,
      );
    else found.set(alert.id, { device: alert.device, title: alert.title });
  }
  if (problems.length > 0) throw refusal(problems);
  let outcome: ReturnType<ReturnType<typeof alertStore>['changeAll']>;
  try {
    outcome = alertStore(db, { now }).changeAll([...found.keys()], change);
  } catch (error) {
    if (!isBusy(error)) throw error;
    throw new RmmError(
      'locked',
      'another writer holds the write lock on the database (waited 5 s); no alert was changed',
      {
        details: ['an rmm apply, rmm serve or a runner is probably writing; try again'],
        cause: error,
      },
    );
  }
  if (outcome.outcome === 'refused')
    throw refusal(
      outcome.refused.map(({ id, why }) =>
        why === 'not-found' ? `no alert ${JSON.stringify(id)}` : `alert ${id} was resolved meanwhile`,
      ),
    );
  return [...outcome.results].map(([id, result]) => ({
    id,
    ...(found.get(id) as { device: string; title: string }),
    outcome: result,
  }));
}

function refusal(problems: string[]): RmmError {
  const [first = '', ...rest] = problems;
  return new RmmError(
    'not-found',
    problems.length === 1 ? first : `${problems.length} alerts cannot be changed`,
    {
      details: [...(problems.length === 1 ? [] : [first, ...rest]), 'nothing was changed'],
    },
  );
}
