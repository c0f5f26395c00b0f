import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  COLLECTOR_OUTPUT_LIMITS,
  type CollectorOutputOptions,
  parseCollectorOutput,
} from '../../src/monitoring/collector-output.js';
import type { MetricSpec } from '../../src/monitoring/metric-spec.js';
import { SPECS } from './specs.js';

const AT = Date.UTC(2024, 4, 1, 12, 0, 0);
const options: CollectorOutputOptions = { device: 'web-01', at: AT, specs: SPECS };
const parse = (output: string | Uint8Array, more: Partial<CollectorOutputOptions> = {}) =>
  parseCollectorOutput(output, { ...options, ...more });
const document = (...lines: string[]) => ['#rmm-metrics 1', ...lines, '#end', ''].join('\n');
const messages = (output: string | Uint8Array, more: Partial<CollectorOutputOptions> = {}) =>
  parse(output, more).warnings.map((w) => w.message);

describe('parseCollectorOutput', () => {
  it('reads every sample with its labels, stamped with the console time of arrival', () => {
    const { samples, warnings } = parse(
      document(
        'cpu.percent\t\t12.5',
        'disk.used_percent\tmount=/srv/data with space\t71.25',
        'disk.free_bytes\tmount=C:\t61234520064',
        'service.running\tname=a=b,c\t1',
        'load.1m\t\t1.5e-1',
      ).replaceAll('\n', '\r\n'),
    );
    expect(warnings).toEqual([]);
    expect(samples).toEqual([
      { device: 'web-01', metric: 'cpu.percent', labels: {}, value: 12.5, at: AT },
      {
        device: 'web-01',
        metric: 'disk.used_percent',
        labels: { mount: '/srv/data with space' },
        value: 71.25,
        at: AT,
      },
      { device: 'web-01', metric: 'disk.free_bytes', labels: { mount: 'C:' }, value: 61234520064, at: AT },
      { device: 'web-01', metric: 'service.running', labels: { name: 'a=b,c' }, value: 1, at: AT },
      { device: 'web-01', metric: 'load.1m', labels: {}, value: 0.15, at: AT },
    ]);
  });

  it('turns what the device could not read into warnings that say so', () => {
    const { samples, warnings } = parse(
      document('!\tservice.running\tname=nginx\tthis device does not run systemd', 'cpu.percent\t\t3'),
    );
    expect(samples).toHaveLength(1);
    expect(warnings).toEqual([
      {
        device: 'web-01',
        line: 2,
        message:
          'service.running{name=nginx} not collected: the device says "this device does not run systemd"',
      },
    ]);
  });

  it.each([
    ['NaN', 'cpu.percent\t\tNaN', /cpu.percent\{\}: the value "NaN" is not a decimal number; refused/],
    ['Infinity', 'cpu.percent\t\tInfinity', /the value "Infinity" is not a decimal number/],
    ['1e309, past a double', 'load.1m\t\t1e309', /load.1m\{\}: 1e309 is not a finite number; refused/],
    ['a percent over 100', 'cpu.percent\t\t100.5', /100.5 is not a percent from 0 to 100/],
    ['a negative percent', 'memory.used_percent\t\t-0.5', /-0.5 is not a percent from 0 to 100/],
    ['a negative byte count', 'disk.free_bytes\tmount=/\t-1', /-1 is not a whole number of bytes, 0 or more/],
    ['a fractional count', 'process.count\tname=sshd\t1.5', /1.5 is not a whole number, 0 or more/],
    ['a boolean of 2', 'reboot.pending\t\t2', /2 is not 0 \(no\) or 1 \(yes\)/],
    ['a negative uptime', 'uptime.seconds\t\t-3', /-3 is not seconds, 0 or more/],
    ['hex', 'cpu.percent\t\t0x10', /the value "0x10" is not a decimal number/],
    ['a leading plus', 'cpu.percent\t\t+5', /the value "\+5" is not a decimal number/],
    ['a space', 'cpu.percent\t\t 5', /the value " 5" is not a decimal number/],
    ['no value', 'cpu.percent\t\t', /the value nothing is not a decimal number/],
    ['a long value', `cpu.percent\t\t1.${'0'.repeat(40)}`, /is not a decimal number/],
    [
      'a missing field',
      'cpu.percent\t5',
      /expected METRIC<TAB>LABELS<TAB>VALUE, received "cpu.percent\\t5"; refused/,
    ],
    ['an extra field', 'cpu.percent\t\t5\t6', /expected METRIC<TAB>LABELS<TAB>VALUE/],
    ['an unknown metric', 'cpu.procent\t\t5', /^unknown metric "cpu.procent"; refused$/],
    [
      'a label the metric lacks',
      'disk.used_percent\tname=/\t5',
      /disk.used_percent: the label "name" is not disk.used_percent's \(it has mount\)/,
    ],
    [
      'a label on a metric without',
      'cpu.percent\tcore=0\t5',
      /the label "core" is not cpu.percent's \(it has none\)/,
    ],
    ['no label', 'disk.used_percent\t\t5', /disk.used_percent: no mount label/],
    ['an empty label value', 'disk.used_percent\tmount=\t5', /the mount label must be 1 to 256 characters/],
    [
      'a long label value',
      `disk.used_percent\tmount=/${'x'.repeat(300)}\t5`,
      /the mount label must be 1 to 256 characters/,
    ],
    [
      'an escape sequence',
      'service.running\tname=\u001b[2J\t1',
      /binary or control characters in "service.running\\tname=\\u001b\[2J\\t1"/,
    ],
    ['a NUL', 'cpu.percent\t\t5\u0000', /binary or control characters/],
    [
      'a long line',
      `cpu.percent\t\t${'1'.repeat(2000)}`,
      /^a line of 2013 characters \(over 1024\); refused$/,
    ],
  ])('refuses %s, alone, with the line number', (_case, line, message) => {
    const { samples, warnings } = parse(document('memory.used_percent\t\t40', line));
    expect(samples.map((s) => s.metric)).toEqual(['memory.used_percent']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.line).toBe(3);
    expect(warnings[0]?.message).toMatch(message);
  });

  it('keeps the first of two samples of one series', () => {
    const { samples, warnings } = parse(
      document(
        'disk.used_percent\tmount=/\t10',
        'disk.used_percent\tmount=/var\t20',
        'disk.used_percent\tmount=/\t99',
      ),
    );
    expect(samples.map((s) => [s.labels.mount, s.value])).toEqual([
      ['/', 10],
      ['/var', 20],
    ]);
    expect(warnings.map((w) => w.message)).toEqual([
      'disk.used_percent{mount=/}: a second sample in one output (the first is kept); refused',
    ]);
  });

  it('reads nothing from output that is not the collector, and says what came instead', () => {
    expect(parse('sh: 1: awk: not found\n')).toEqual({
      samples: [],
      warnings: [
        {
          device: 'web-01',
          message:
            'not the metric collector\'s output (no "#rmm-metrics 1" line): received "sh: 1: awk: not found\\n"',
        },
      ],
    });
    expect(messages('')).toEqual([
      'not the metric collector\'s output (no "#rmm-metrics 1" line): received nothing',
    ]);
    expect(messages('#rmm-metrics 2\ncpu.percent\t\t5\n#end\n')).toEqual([
      'the collector printed format 2; this rmm reads format 1; nothing read',
    ]);
  });

  it('skips what a login script printed before the header, and what follows #end', () => {
    const { samples, warnings } = parse(`Welcome!\n${document('cpu.percent\t\t5')}cpu.percent\t\t6\n`);
    expect(samples.map((s) => s.value)).toEqual([5]);
    expect(warnings.map((w) => w.message)).toEqual([
      "1 line before the collector's header ignored",
      '1 line after "#end" ignored',
    ]);
  });

  it('keeps the complete lines of a cut output and refuses the cut one', () => {
    const { samples, warnings } = parse('#rmm-metrics 1\ncpu.percent\t\t55\nmemory.used_percent\t\t9');
    expect(samples.map((s) => s.value)).toEqual([55]);
    expect(warnings.map((w) => w.message)).toEqual([
      'the last line has no end of line (the output was cut); refused',
      'no "#end" line: the output was cut short',
    ]);
  });

  it('refuses an output over 256 KiB whole, unread', () => {
    const line = 'cpu.percent\t\t5\n';
    const huge = `#rmm-metrics 1\n${line.repeat(Math.ceil(COLLECTOR_OUTPUT_LIMITS.maxBytes / line.length))}#end\n`;
    expect(parse(huge)).toEqual({
      samples: [],
      warnings: [
        {
          device: 'web-01',
          message: `the collector output is ${Buffer.byteLength(huge)} bytes, over the 262144-byte limit; nothing read`,
        },
      ],
    });
    // The cap counts bytes, not characters.
    const wide = `#rmm-metrics 1\n${'é'.repeat(COLLECTOR_OUTPUT_LIMITS.maxBytes / 2)}\n#end\n`;
    expect(messages(Buffer.from(wide))[0]).toMatch(/over the 262144-byte limit/);
  });

  it('survives binary garbage: every line refused, the warnings bounded', () => {
    const garbage = randomBytes(200_000);
    const { samples, warnings } = parse(
      Buffer.concat([Buffer.from('#rmm-metrics 1\n'), garbage, Buffer.from('\n#end\n')]),
    );
    expect(samples).toEqual([]);
    expect(warnings.length).toBeLessThanOrEqual(COLLECTOR_OUTPUT_LIMITS.maxWarnings + 1);
    for (const warning of warnings) expect(warning.message).not.toMatch(/[\p{Cc}\ufffd]/u);
  });

  it('reads 100,000 lines in bounded work, warnings capped and counted', () => {
    const started = performance.now();
    const { samples, warnings } = parse(`#rmm-metrics 1\n${'x\n'.repeat(100_000)}#end\n`);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(samples).toEqual([]);
    expect(warnings).toHaveLength(COLLECTOR_OUTPUT_LIMITS.maxWarnings + 1);
    expect(warnings.at(-1)?.message).toBe('and 99980 more problems in this output');
  });

  it('keeps at most 256 instances of a metric and 10,000 samples from one device', () => {
    const mounts = Array.from({ length: 300 }, (_, i) => `disk.used_percent\tmount=/m${i}\t1`);
    const many = parse(document(...mounts));
    expect(many.samples).toHaveLength(256);
    expect(many.warnings[0]?.message).toBe(
      'disk.used_percent{mount=/m256}: more than 256 instances of disk.used_percent; refused',
    );

    const specs: MetricSpec[] = Array.from({ length: 41 }, (_, i) => ({
      name: `m${i}`,
      labels: ['k'],
      kind: 'load',
    }));
    const lines = specs.flatMap((spec) => Array.from({ length: 250 }, (_, i) => `${spec.name}\tk=${i}\t1`));
    const capped = parse(document(...lines), { specs });
    expect(capped.samples).toHaveLength(COLLECTOR_OUTPUT_LIMITS.maxSamples);
    expect(capped.warnings[0]?.message).toBe('more than 10000 samples; refused');
  });

  describe('against the request', () => {
    const request = {
      metrics: [
        { metric: 'cpu.percent', instances: 'all' as const },
        { metric: 'disk.used_percent', instances: 'all' as const },
        { metric: 'service.running', instances: ['nginx', 'sshd'] },
      ],
    };

    it('refuses what was not asked for', () => {
      const warnings = messages(
        document(
          'cpu.percent\t\t1',
          'memory.used_percent\t\t2',
          'disk.used_percent\tmount=/x\t3',
          'service.running\tname=nginx\t1',
          'service.running\tname=telnetd\t1',
          'service.running\tname=sshd\t0',
        ),
        { request },
      );
      expect(warnings).toEqual([
        'memory.used_percent{}: not asked for; refused',
        'service.running{name=telnetd}: an instance not asked for; refused',
      ]);
    });

    it('says what was asked for and not reported, counting a line that says why as an answer', () => {
      expect(messages(document('!\tservice.running\tname=nginx\tunit not found'), { request })).toEqual([
        'service.running{name=nginx} not collected: the device says "unit not found"',
        'cpu.percent: asked for, not reported',
        'disk.used_percent: asked for, not reported',
        'service.running{name=sshd}: asked for, not reported',
      ]);
    });
  });
});
