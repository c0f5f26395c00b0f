/**
 * What collection needs to know of a metric: its name, its instance labels and the range its values
 * may take. The catalogue (one place, read by validation too) supplies these; collection takes them
 * as a parameter so that it can be tested with a small list.
 */
export interface MetricSpec {
  name: string;
  labels: readonly string[];
  kind: 'percent' | 'bytes' | 'seconds' | 'ms' | 'count' | 'boolean' | 'number';
}

/** Why `value` cannot be a sample of a metric of this kind, or undefined when it can. */
export function valueProblem(kind: MetricSpec['kind'], value: number): string | undefined {
  if (!Number.isFinite(value)) return 'is not a finite number';
  switch (kind) {
    case 'percent':
      return value >= 0 && value <= 100 ? undefined : 'is a percent outside 0..100';
    case 'bytes':
    case 'count':
      return Number.isInteger(value) && value >= 0 ? undefined : `is not a whole ${kind} >= 0`;
    case 'seconds':
    case 'ms':
      return value >= 0 ? undefined : `is a negative duration`;
    case 'boolean':
      return value === 0 || value === 1 ? undefined : 'is not 0 or 1';
    case 'number':
      return undefined;
  }
}
