import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  METRIC_NAMES,
  METRICS,
  type Metric,
  metricNamed,
  metricsCollectedOn,
  sampleProblem,
  thresholdProblem,
  VALUE_KINDS,
} from '../../src/monitoring/catalogue.js';
import { kindValidators } from '../../src/resources/schemas.js';

/** The catalogue as docs/monitoring.md shows it: one row per metric. */
function catalogueTable(metrics: readonly Metric[]): string {
  const rows = metrics.map((m) => {
    const labels = m.labels.map((l) => `\`${l.name}\`${l.required ? ' (required)' : ''}`).join(', ') || '-';
    const range = VALUE_KINDS[m.value];
    return `| \`${m.name}\` | ${range.unit} | ${range.words} | ${labels} | ${m.sources.join(', ')} | ${m.description} |`;
  });
  return [
    '| Metric | Unit | Value | Labels | Collected by | What it measures |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

describe('the metric catalogue', () => {
  it('has at least the metrics issue 12 names, each once', () => {
    for (const name of [
      'cpu.percent',
      'memory.used_percent',
      'disk.used_percent',
      'disk.free_bytes',
      'load.1m',
      'uptime.seconds',
      'service.running',
      'process.count',
      'reboot.pending',
      'tcp.connect_ms',
      'device.reachable',
    ])
      expect(metricNamed(name), name).toBeDefined();
    expect(new Set(METRIC_NAMES).size).toBe(METRICS.length);
  });

  it.each([
    ['disk.used_percent', ['mount']],
    ['disk.free_bytes', ['mount']],
    ['service.running', ['name']],
    ['process.count', ['name']],
    ['tcp.connect_ms', ['port']],
    ['cpu.percent', []],
  ])('%s is told apart by %j', (name, labels) => {
    expect(metricNamed(name)?.labels.map((l) => l.name)).toEqual(labels);
  });

  it('knows which metrics a device reports and which the console measures', () => {
    expect(metricsCollectedOn('windows').map((m) => m.name)).not.toContain('load.1m');
    expect(metricsCollectedOn('macos').map((m) => m.name)).toContain('load.1m');
    expect(
      metricsCollectedOn('console')
        .map((m) => m.name)
        .sort(),
    ).toEqual(['device.reachable', 'tcp.connect_ms']);
    expect(metricsCollectedOn('linux').map((m) => m.name)).not.toContain('tcp.connect_ms');
  });

  it.each([
    ['cpu.percent', 42.5, true],
    ['cpu.percent', 100, true],
    ['cpu.percent', 100.01, false],
    ['cpu.percent', -1, false],
    ['cpu.percent', Number.NaN, false],
    ['disk.free_bytes', Number.POSITIVE_INFINITY, false],
    ['disk.free_bytes', Number.parseFloat('1e309'), false],
    ['disk.free_bytes', 1.5, false],
    ['disk.free_bytes', 0, true],
    ['service.running', 1, true],
    ['service.running', 2, false],
    ['process.count', 3, true],
    ['process.count', -3, false],
    ['uptime.seconds', 12.5, true],
    ['tcp.connect_ms', 0.4, true],
  ])('a sample of %s = %d is accepted: %s', (name, value, ok) => {
    const problem = sampleProblem(metricNamed(name) as Metric, value);
    expect(problem === undefined).toBe(ok);
    if (!ok) expect(problem).toContain(name);
  });

  it('takes fractional thresholds within the range, refuses those outside it', () => {
    const count = metricNamed('process.count') as Metric;
    expect(thresholdProblem(count, 0.5)).toBeUndefined();
    expect(thresholdProblem(metricNamed('memory.used_percent') as Metric, 150)).toBe(
      'memory.used_percent is a percent from 0 to 100, so a threshold of 150 is out of its range',
    );
  });

  it("names only metrics the Policy kind's schema lets a monitor write", () => {
    const validate = kindValidators().Policy;
    const refused = METRIC_NAMES.filter((metric) => {
      const policy = {
        apiVersion: 'rmm/v1',
        kind: 'Policy',
        metadata: { name: 'p' },
        spec: { monitors: [{ name: 'm', metric, when: { op: '>', value: 0 }, severity: 'Info' }] },
      };
      validate(policy);
      return (validate.errors ?? []).some((e) => e.instancePath.endsWith('/metric'));
    });
    expect(refused).toEqual([]);
  });

  it('is shown whole and as it is in docs/monitoring.md', () => {
    const docs = readFileSync('docs/monitoring.md', 'utf8');
    const block = /<!-- catalogue:start -->\n([\s\S]*?)\n<!-- catalogue:end -->/.exec(docs)?.[1];
    expect(block, 'docs/monitoring.md has no catalogue block').toBeDefined();
    expect(block).toBe(catalogueTable(METRICS));
  });
});
