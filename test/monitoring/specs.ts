import { metricSpecs } from '../../src/monitoring/catalogue.js';
import type { MetricSpec } from '../../src/monitoring/metric-spec.js';

/** The metrics of the catalogue as collection sees them. */
export const SPECS: readonly MetricSpec[] = metricSpecs();
