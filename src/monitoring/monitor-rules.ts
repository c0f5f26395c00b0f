import type { PathSegment } from '../diagnostics/diagnostic.js';
import { durationSeconds } from '../duration.js';
import { quote } from '../quote.js';
import type { DocumentProblem } from '../resources/ajv-messages.js';
import type { Monitor, PolicySpec } from '../resources/kinds.js';
import { suggest } from '../suggest.js';
import { METRIC_NAMES, type Metric, metricNamed, thresholdProblem } from './catalogue.js';

/** A monitor's interval when neither it nor its policy names one. */
export const DEFAULT_INTERVAL = '1m';
/** Below this a cycle over a large fleet cannot finish before the next one is due. */
export const MIN_INTERVAL_SECONDS = 10;

/** How often a monitor is sampled: its own interval, else its policy's, else the default. */
export function effectiveInterval(policy: PolicySpec, monitor: Monitor): string {
  return monitor.interval ?? policy.interval ?? DEFAULT_INTERVAL;
}

/**
 * The rules of a policy's monitors that its JSON Schema cannot state: names unique in the policy,
 * metrics and labels of the catalogue, thresholds a metric can reach, intervals no shorter than
 * MIN_INTERVAL_SECONDS, and a warning for a `for` shorter than the interval (it cannot be held).
 */
export function monitorProblems(spec: PolicySpec): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  if (spec.interval !== undefined) problems.push(...intervalProblems(spec.interval, ['spec', 'interval']));
  const names = new Set<string>();
  spec.monitors?.forEach((monitor, i) => {
    const at = (...path: PathSegment[]): PathSegment[] => ['spec', 'monitors', i, ...path];
    if (names.has(monitor.name))
      problems.push({
        ...error(at('name'), 'value', `monitor name ${quote(monitor.name)} is used twice in this policy`),
        code: 'duplicate',
      });
    names.add(monitor.name);
    if (monitor.interval !== undefined) problems.push(...intervalProblems(monitor.interval, at('interval')));
    const metric = metricNamed(monitor.metric);
    if (!metric) problems.push(error(at('metric'), 'value', unknownMetric(monitor.metric)));
    else problems.push(...matchProblems(metric, monitor, at), ...thresholdProblems(metric, monitor, at));
    problems.push(...forProblems(spec, monitor, at));
  });
  return problems;
}

function intervalProblems(interval: string, path: PathSegment[]): DocumentProblem[] {
  const seconds = durationSeconds(interval);
  if (seconds === undefined || seconds >= MIN_INTERVAL_SECONDS) return [];
  return [error(path, 'value', `interval ${interval} is shorter than the minimum, ${MIN_INTERVAL_SECONDS}s`)];
}

function unknownMetric(name: string): string {
  const hint = suggest(name, METRIC_NAMES);
  return `unknown metric ${quote(name)}; ${hint ? `did you mean "${hint}"?` : `expected one of: ${METRIC_NAMES.join(', ')}`}`;
}

/** Every label of `match` must be one the metric has, in its form; required ones must be there. */
function matchProblems(
  metric: Metric,
  monitor: Monitor,
  at: (...path: PathSegment[]) => PathSegment[],
): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  const labels = metric.labels.map((l) => l.name);
  for (const [key, value] of Object.entries(monitor.match ?? {})) {
    const label = metric.labels.find((l) => l.name === key);
    if (!label) {
      const hint = suggest(key, labels);
      const why =
        labels.length === 0
          ? `${metric.name} has no labels, so it takes no match`
          : `${metric.name} has no label ${quote(key)}; ${hint ? `did you mean "${hint}"?` : `its labels: ${labels.join(', ')}`}`;
      problems.push(error(at('match', key), 'key', why));
    } else if (label.pattern && !label.pattern.test(value)) {
      problems.push(error(at('match', key), 'value', `${key} must be ${label.form}, not ${quote(value)}`));
    }
  }
  for (const label of metric.labels) {
    if (!label.required || monitor.match?.[label.name] !== undefined) continue;
    problems.push(
      error(
        monitor.match ? at('match') : at('metric'),
        monitor.match ? 'key' : 'value',
        `${metric.name} needs match: {${label.name}: ...}, ${label.description}`,
      ),
    );
  }
  return problems;
}

function thresholdProblems(
  metric: Metric,
  monitor: Monitor,
  at: (...path: PathSegment[]) => PathSegment[],
): DocumentProblem[] {
  const problem = thresholdProblem(metric, monitor.when.value);
  return problem ? [error(at('when', 'value'), 'value', problem)] : [];
}

/**
 * A `for` shorter than the interval cannot be held: the condition is seen once per interval, so the
 * alert fires on the first sample that meets it. Legal, but likely not what was meant.
 */
function forProblems(
  spec: PolicySpec,
  monitor: Monitor,
  at: (...path: PathSegment[]) => PathSegment[],
): DocumentProblem[] {
  if (monitor.when.for === undefined) return [];
  const interval = effectiveInterval(spec, monitor);
  const holdFor = durationSeconds(monitor.when.for);
  const every = durationSeconds(interval);
  if (holdFor === undefined || every === undefined || holdFor >= every) return [];
  return [
    {
      code: 'schema',
      severity: 'warning',
      path: at('when', 'for'),
      at: 'value',
      message: `for: ${monitor.when.for} is shorter than the monitor's interval (${interval}): it fires on the first sample that meets the condition`,
    },
  ];
}

function error(path: PathSegment[], at: 'key' | 'value', message: string): DocumentProblem {
  return { code: 'schema', path, at, message };
}
