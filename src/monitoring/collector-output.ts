import type { CollectorRequest } from './collector-request.js';
import { type MetricSpec, valueProblem } from './metric-spec.js';
import { canonicalLabels, type Sample, sampleSeriesKey } from './samples.js';

/**
 * What a metric collector printed, turned into samples. A device's output is untrusted input: the
 * document is capped in bytes, every line is read strictly and refused alone (with a warning, never
 * an exception), and the work is bounded by the cap, whatever arrives. The wire format is in
 * docs/monitoring.md#collectors.
 */
export const COLLECTOR_OUTPUT_LIMITS = {
  /** A larger document is refused whole, unread. */
  maxBytes: 256 * 1024,
  /** A longer line is refused without being looked into. */
  maxLineChars: 1024,
  maxValueChars: 32,
  maxLabelChars: 256,
  /** Per metric and device: a device cannot make up series without end. */
  maxInstancesPerMetric: 256,
  maxSamples: 10_000,
  /** Warnings past this are counted in one last warning. */
  maxWarnings: 20,
} as const;

export const COLLECTOR_FORMAT_VERSION = 1;

export interface CollectorOutputOptions {
  device: string;
  /** When the output arrived (the console's clock): every sample's time, as a device's clock may be wrong. */
  at: number;
  specs: readonly MetricSpec[];
  /** What the device was asked for: anything else is refused. Without it, any catalogue metric is read. */
  request?: CollectorRequest;
}

export interface CollectorWarning {
  device: string;
  /** 1-based line of the output, when the warning is about one line. */
  line?: number;
  message: string;
}

export interface CollectorOutput {
  samples: Sample[];
  warnings: CollectorWarning[];
}

const HEADER = /^#rmm-metrics (\d{1,9})$/;
const END = '#end';
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
// Tab separates fields; every other control character, and bytes that were not UTF-8 (U+FFFD).
const NOT_TEXT = /(?!\t)[\p{Cc}\ufffd]/u;
// What JSON.stringify leaves as is and a terminal should not get: C1 controls, format characters
// (bidi overrides), and the mark of bytes that were not UTF-8.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\ufffd]/gu;

export function parseCollectorOutput(
  output: string | Uint8Array,
  options: CollectorOutputOptions,
): CollectorOutput {
  const limits = COLLECTOR_OUTPUT_LIMITS;
  const warnings = new Warnings(options.device);
  const size = typeof output === 'string' ? Buffer.byteLength(output, 'utf8') : output.byteLength;
  if (size > limits.maxBytes) {
    warnings.add(
      `the collector output is ${size} bytes, over the ${limits.maxBytes}-byte limit; nothing read`,
    );
    return { samples: [], warnings: warnings.list() };
  }
  const text = typeof output === 'string' ? output : new TextDecoder('utf-8').decode(output);
  const reader = new LineReader(options, warnings);
  const lines = text.split('\n');
  const last = lines.pop();
  if (last !== undefined && last !== '')
    warnings.add('the last line has no end of line (the output was cut); refused', lines.length + 1);
  let state: 'before' | 'body' | 'after' = 'before';
  let skipped = 0;
  for (const [index, raw] of lines.entries()) {
    const number = index + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (state === 'before') {
      const header = HEADER.exec(line);
      if (!header) {
        skipped++;
        continue;
      }
      if (Number(header[1]) !== COLLECTOR_FORMAT_VERSION) {
        warnings.add(
          `the collector printed format ${header[1]}; this rmm reads format ${COLLECTOR_FORMAT_VERSION}; nothing read`,
          number,
        );
        return { samples: [], warnings: warnings.list() };
      }
      if (skipped > 0)
        warnings.add(`${skipped} line${skipped === 1 ? '' : 's'} before the collector's header ignored`);
      state = 'body';
      skipped = 0;
    } else if (state === 'body') {
      if (line === END) state = 'after';
      else if (line !== '') reader.read(line, number);
    } else if (line !== '') skipped++;
  }
  if (state === 'before') {
    warnings.add(
      `not the metric collector's output (no "#rmm-metrics ${COLLECTOR_FORMAT_VERSION}" line): received ${excerpt(text)}`,
    );
    return { samples: [], warnings: warnings.list() };
  }
  if (state === 'body') warnings.add('no "#end" line: the output was cut short');
  else if (skipped > 0) warnings.add(`${skipped} line${skipped === 1 ? '' : 's'} after "#end" ignored`);
  reader.reportMissing();
  return { samples: reader.samples, warnings: warnings.list() };
}

/** Reads the lines between the header and #end: samples, and the lines that say a metric was unread. */
class LineReader {
  readonly samples: Sample[] = [];
  private readonly specs: Map<string, MetricSpec>;
  private readonly asked: Map<string, ReadonlySet<string> | 'all'> | undefined;
  private readonly seen = new Set<string>();
  private readonly instances = new Map<string, number>();
  /** Metric and metric{labels} that got a sample or an unread line: what was answered. */
  private readonly answered = new Set<string>();

  constructor(
    private readonly options: CollectorOutputOptions,
    private readonly warnings: Warnings,
  ) {
    this.specs = new Map(options.specs.map((spec) => [spec.name, spec]));
    this.asked = options.request
      ? new Map(
          options.request.metrics.map(({ metric, instances }) => [
            metric,
            instances === 'all' ? 'all' : new Set(instances),
          ]),
        )
      : undefined;
  }

  read(line: string, number: number): void {
    const fields = line.split('\t');
    if (fields[0] === '!' && line.length <= COLLECTOR_OUTPUT_LIMITS.maxLineChars && !NOT_TEXT.test(line))
      this.unread(fields, number);
    else {
      const refused = this.accept(line, fields);
      if (refused) this.warnings.add(`${refused}; refused`, number);
    }
  }

  /** Keeps the line's sample, or says why not. */
  private accept(line: string, fields: string[]): string | undefined {
    const limits = COLLECTOR_OUTPUT_LIMITS;
    if (line.length > limits.maxLineChars)
      return `a line of ${line.length} characters (over ${limits.maxLineChars})`;
    if (NOT_TEXT.test(line)) return `binary or control characters in ${excerpt(line)}`;
    if (fields.length !== 3) return `expected METRIC<TAB>LABELS<TAB>VALUE, received ${excerpt(line)}`;
    const [metric, labelField, valueField] = fields as [string, string, string];
    const spec = this.specs.get(metric);
    if (!spec) return `unknown metric ${excerpt(metric)}`;
    const labels = this.labels(spec, labelField);
    if (typeof labels === 'string') return `${metric}: ${labels}`;
    const series = `${metric}{${canonicalLabels(labels)}}`;
    const notAsked = this.notAsked(spec, labels);
    if (notAsked) return `${series}: ${notAsked}`;
    if (valueField.length > limits.maxValueChars || !NUMBER.test(valueField))
      return `${series}: the value ${excerpt(valueField)} is not a decimal number`;
    const value = Number(valueField);
    const problem = valueProblem(spec.kind, value);
    if (problem) return `${series}: ${valueField} ${problem}`;
    const sample: Sample = { device: this.options.device, metric, labels, value, at: this.options.at };
    const key = sampleSeriesKey(sample);
    if (this.seen.has(key)) return `${series}: a second sample in one output (the first is kept)`;
    const count = this.instances.get(metric) ?? 0;
    if (count >= limits.maxInstancesPerMetric)
      return `${series}: more than ${limits.maxInstancesPerMetric} instances of ${metric}`;
    if (this.samples.length >= limits.maxSamples) return `more than ${limits.maxSamples} samples`;
    this.instances.set(metric, count + 1);
    this.seen.add(key);
    this.answered.add(metric).add(series);
    this.samples.push(sample);
    return undefined;
  }

  /** What the request asked for and neither a sample nor an unread line answered. */
  reportMissing(): void {
    for (const [metric, instances] of this.asked ?? []) {
      const label = this.specs.get(metric)?.labels[0];
      const missing =
        instances === 'all'
          ? this.answered.has(metric)
            ? []
            : [metric]
          : [...instances]
              .map((instance) => `${metric}{${label}=${instance}}`)
              .filter((series) => !this.answered.has(series));
      for (const series of missing) this.warnings.add(`${series}: asked for, not reported`);
    }
  }

  /** `!<TAB>METRIC<TAB>LABELS<TAB>WHY`: the device could not read a metric, and says why. */
  private unread(fields: string[], number: number): void {
    const [, metric = '', labelField = ''] = fields;
    const why = excerpt(fields.slice(3).join(' '));
    const spec = this.specs.get(metric);
    const labels = spec ? this.labels(spec, labelField) : undefined;
    const series = labels && typeof labels !== 'string' ? `${metric}{${canonicalLabels(labels)}}` : undefined;
    this.answered.add(metric);
    if (series) this.answered.add(series);
    this.warnings.add(`${series ?? excerpt(metric)} not collected: the device says ${why}`, number);
  }

  /** `NAME=VALUE` or nothing: exactly the labels the metric has (every catalogue metric has at most one). */
  private labels(spec: MetricSpec, field: string): Record<string, string> | string {
    const limits = COLLECTOR_OUTPUT_LIMITS;
    if (field === '')
      return spec.labels.length === 0
        ? {}
        : `no ${spec.labels.join(', ')} label (it has ${spec.labels.join(', ')})`;
    const equals = field.indexOf('=');
    const name = equals < 0 ? field : field.slice(0, equals);
    const value = equals < 0 ? '' : field.slice(equals + 1);
    if (spec.labels.length !== 1 || spec.labels[0] !== name)
      return `the label ${excerpt(name)} is not ${spec.name}'s (${spec.labels.length === 0 ? 'it has none' : `it has ${spec.labels.join(', ')}`})`;
    if (value === '' || value.length > limits.maxLabelChars)
      return `the ${name} label must be 1 to ${limits.maxLabelChars} characters`;
    return { [name]: value };
  }

  private notAsked(spec: MetricSpec, labels: Record<string, string>): string | undefined {
    if (!this.asked) return undefined;
    const instances = this.asked.get(spec.name);
    if (instances === undefined) return 'not asked for';
    if (instances === 'all') return undefined;
    const label = spec.labels[0];
    const value = label === undefined ? undefined : labels[label];
    return value !== undefined && instances.has(value) ? undefined : 'an instance not asked for';
  }
}

/** Collects warnings up to the limit, then counts the rest in one last warning. */
class Warnings {
  private readonly kept: CollectorWarning[] = [];
  private dropped = 0;

  constructor(private readonly device: string) {}

  add(message: string, line?: number): void {
    if (this.kept.length >= COLLECTOR_OUTPUT_LIMITS.maxWarnings) {
      this.dropped++;
      return;
    }
    this.kept.push(
      line === undefined ? { device: this.device, message } : { device: this.device, line, message },
    );
  }

  list(): CollectorWarning[] {
    if (this.dropped === 0) return this.kept;
    return [
      ...this.kept,
      { device: this.device, message: `and ${this.dropped} more problems in this output` },
    ];
  }
}

/** Device text as it may appear in a message: quoted (control characters escaped) and short. */
function excerpt(text: string): string {
  if (text === '') return 'nothing';
  const quoted = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
  return quoted.replace(UNPRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
