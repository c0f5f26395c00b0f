import { fitsKind, VALUE_KINDS, type ValueKind } from './catalogue.js';

/**
 * What collection needs to know of a metric: its name, its instance labels and the kind of value
 * (which bounds it). The catalogue supplies these (`metricSpecs`); collection takes them as a
 * parameter so that it can be tested with a small list.
 */
export interface MetricSpec {
  name: string;
  labels: readonly string[];
  kind: ValueKind;
}

/** Why `value` cannot be a sample of a metric of this kind, or undefined when it can. */
export function valueProblem(kind: ValueKind, value: number): string | undefined {
  if (!Number.isFinite(value)) return 'is not a finite number';
  return fitsKind(kind, value) ? undefined : `is not ${VALUE_KINDS[kind].words}`;
}
