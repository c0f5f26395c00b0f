import type { PathSegment } from '../diagnostics/diagnostic.js';
import { durationSeconds } from '../duration.js';
import { quote } from '../quote.js';
import type { DocumentProblem } from '../resources/ajv-messages.js';
import type { MaintenanceWindow } from '../resources/kinds.js';
import {
  compileCron,
  MAX_DURATION_SECONDS,
  MAX_ONE_OFF_MS,
  MIN_DURATION_SECONDS,
  readWindowTime,
} from './window-time.js';

/**
 * The rules of a resource's `maintenance` windows that its JSON Schema cannot state: each window is
 * recurring (cron and duration) or one-off (start and end), never both; the cron rule parses and
 * matches some date; a duration from 1m to 7d; an end after its start, at most 31 days later; names
 * unique in the resource. Each problem points at the field to fix.
 */
export function maintenanceProblems(windows: readonly MaintenanceWindow[] | undefined): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  const names = new Set<string>();
  windows?.forEach((window, i) => {
    const at = (...path: PathSegment[]): PathSegment[] => ['spec', 'maintenance', i, ...path];
    if (names.has(window.name))
      problems.push({
        code: 'duplicate',
        path: at('name'),
        at: 'value',
        message: `maintenance window ${quote(window.name)} is declared twice here`,
      });
    names.add(window.name);
    problems.push(...shapeProblems(window, at));
  });
  return problems;
}

function shapeProblems(
  window: MaintenanceWindow,
  at: (...path: PathSegment[]) => PathSegment[],
): DocumentProblem[] {
  const recurring = window.cron !== undefined || window.duration !== undefined;
  const oneOff = window.start !== undefined || window.end !== undefined;
  if (recurring && oneOff)
    return [problem(at(), 'a window is recurring (cron and duration) or one-off (start and end), not both')];
  if (!recurring && !oneOff)
    return [problem(at(), 'a window needs cron and duration (recurring) or start and end (one-off)')];
  if (recurring) {
    if (window.cron === undefined) return [problem(at(), 'a window with a duration needs a cron rule')];
    if (window.duration === undefined) return [problem(at(), 'a window with a cron rule needs a duration')];
    return [...cronProblems(window.cron, at('cron')), ...durationProblems(window.duration, at('duration'))];
  }
  if (window.start === undefined) return [problem(at(), 'a window with an end needs a start')];
  if (window.end === undefined) return [problem(at(), 'a window with a start needs an end')];
  return spanProblems(window.start, window.end, at);
}

function cronProblems(rule: string, path: PathSegment[]): DocumentProblem[] {
  const compiled = compileCron(rule);
  return 'problem' in compiled ? [problem(path, `cron rule ${quote(rule)}: ${compiled.problem}`)] : [];
}

function durationProblems(duration: string, path: PathSegment[]): DocumentProblem[] {
  const seconds = durationSeconds(duration);
  if (seconds === undefined) return []; // the schema's pattern has said so
  if (seconds < MIN_DURATION_SECONDS) return [problem(path, `duration ${duration} is shorter than 1m`)];
  if (seconds > MAX_DURATION_SECONDS) return [problem(path, `duration ${duration} is longer than 7d`)];
  return [];
}

/**
 * Start and end are compared as written, both in the same zone: they must both give an offset or
 * both be local, so the comparison does not depend on the site they end up in.
 */
function spanProblems(
  startText: string,
  endText: string,
  at: (...path: PathSegment[]) => PathSegment[],
): DocumentProblem[] {
  const start = readWindowTime(startText);
  const end = readWindowTime(endText);
  const problems: DocumentProblem[] = [];
  if ('problem' in start) problems.push(problem(at('start'), start.problem));
  if ('problem' in end) problems.push(problem(at('end'), end.problem));
  if ('problem' in start || 'problem' in end) return problems;
  if ((start.offset === undefined) !== (end.offset === undefined))
    return [problem(at('end'), 'start and end must both give an offset (Z, +02:00) or both be local times')];
  const ms = (t: typeof start) => Date.parse(`${t.local}${t.offset ?? 'Z'}`);
  const span = ms(end) - ms(start);
  if (span <= 0) return [problem(at('end'), `the window ends (${endText}) before it starts (${startText})`)];
  if (span > MAX_ONE_OFF_MS) return [problem(at('end'), 'a one-off window lasts at most 31 days')];
  return [];
}

function problem(path: PathSegment[], message: string): DocumentProblem {
  return { code: 'schema', path, at: 'value', message };
}
